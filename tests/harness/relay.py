"""ISC dhcrelay in a namespace between a client link (downstream) and the server's network (upstream)."""

from __future__ import annotations

from ipaddress import IPv4Address

from tests.harness.netns import Namespace
from tests.harness.process import Process

READY_LINE = "Sending on   Socket/fallback"


def start_dhcrelay(
    namespace: Namespace,
    server: IPv4Address,
    upstream_if: str,
    downstream_if: str,
    agent_option: bool = True,
    timeout: float = 10.0,
) -> Process:
    """Relay DHCP from `downstream_if` to `server` via `upstream_if`; `agent_option` adds option 82 (`-a`).

    The relay's giaddr is the downstream interface's address, and the circuit-id it adds is that interface's name.
    """
    workdir = namespace.workdir / f"dhcrelay-{downstream_if}"
    workdir.mkdir(parents=True, exist_ok=True)
    agent_args = ["-a"] if agent_option else []
    relay = namespace.spawn(
        ["dhcrelay", "-4", "-d", *agent_args, "-pf", str(workdir / "dhcrelay.pid"),
         "-iu", upstream_if, "-id", downstream_if, str(server)],
        log_path=workdir / "dhcrelay.log",
    )
    relay.require_log_line(READY_LINE, timeout)
    return relay
