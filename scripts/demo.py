"""The demo behind scripts/demo: one server namespace, three client namespaces, three different real clients.

demo-srv holds s1, s2, s3 (10.77.1.1/24, 10.77.2.1/24, 10.77.3.1/24, the subnets of etc/demo.conf), each
the peer of a veth in demo-c1, demo-c2, demo-c3. The server (ours, or isc-dhcpd with DEMO_SERVER=isc) logs
to this terminal; dhclient, udhcpc and dhcpcd each ask once and the address each got is printed. Every
process is stopped by pid and every namespace deleted on the way out, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from ipaddress import IPv4Address
from pathlib import Path
from typing import Callable

from tests.harness.clients import run_dhclient, run_dhcpcd, run_udhcpc
from tests.harness.netns import Namespace, NamespaceFactory
from tests.harness.waiting import poll

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "etc" / "demo.conf"
SERVER_INTERFACES = ["s1", "s2", "s3"]
CLIENTS: list[tuple[str, Callable[[Namespace, str, float], IPv4Address | None]]] = [
    ("dhclient", run_dhclient),
    ("udhcpc", run_udhcpc),
    ("dhcpcd", run_dhcpcd),
]
CLIENT_TIMEOUT = 20.0
SERVER_START_TIMEOUT = 30.0


def server_command(kind: str, workdir: Path) -> list[str]:
    leases = workdir / "dhcpd.leases"
    leases.touch()
    if kind == "isc":
        return ["dhcpd", "-4", "-f", "-d", "-cf", str(CONFIG), "-lf", str(leases),
                "-pf", str(workdir / "dhcpd.pid"), *SERVER_INTERFACES]
    return [str(REPO / ".venv" / "bin" / "python"), "-m", "dhcpd", "-f", "-d", "-cf", str(CONFIG),
            "-lf", str(leases), "--db", f"sqlite:///{workdir / 'leases.sqlite'}", *SERVER_INTERFACES]


def listening_on_port_67(server: Namespace) -> bool | None:
    """True once some socket in the server namespace is bound to UDP port 67 (both servers bind one)."""
    return True if server.run(["ss", "-Hlun", "sport = :67"]).stdout.strip() else None


def run_demo(factory: NamespaceFactory, kind: str) -> bool:
    server = factory.create_named("demo-srv")
    client_namespaces = []
    for index in range(1, 4):
        client = factory.create_named(f"demo-c{index}")
        server.veth(client, f"s{index}", f"c{index}")
        server.add_address(f"s{index}", f"10.77.{index}.1/24")
        client_namespaces.append(client)

    process = server.spawn(server_command(kind, server.workdir), to_terminal=True, env={"PYTHONPATH": str(REPO)})
    if not poll(lambda: listening_on_port_67(server) if process.alive() else False, SERVER_START_TIMEOUT):
        print(f"demo: the {kind} server did not start", file=sys.stderr)
        return False

    results = []
    for index, (client, (program, run_client)) in enumerate(zip(client_namespaces, CLIENTS), start=1):
        address = run_client(client, f"c{index}", CLIENT_TIMEOUT)
        results.append(address)
        print(f"demo: {program:8} in {client.name} on c{index}: {address or 'NO ADDRESS'}", flush=True)
    return all(results)


def main() -> int:
    if os.geteuid() != 0:
        print("demo: needs root (sudo scripts/demo)", file=sys.stderr)
        return 1
    kind = os.environ.get("DEMO_SERVER", "ours")
    if kind not in ("ours", "isc"):
        print(f"demo: DEMO_SERVER must be 'ours' or 'isc', not {kind!r}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with tempfile.TemporaryDirectory(prefix="dhcpd-demo-") as workdir:
        factory = NamespaceFactory(Path(workdir))
        try:
            succeeded = run_demo(factory, kind)
        finally:
            factory.cleanup()
    print(f"demo: {'every client got an address' if succeeded else 'FAILED'}; namespaces removed")
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
