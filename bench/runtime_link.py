"""Time for this server to serve a link added while it runs: `python -m bench.runtime_link [--links N] [--reps R]`.

Builds the usual topology of N links, starts the server on a dhcpd.conf that also declares the subnet of link
N+1, waits until it serves, then creates link N+1 (veth pair and address, as an operator adding a VLAN would)
and times from the moment `ip address add` returned to the first OFFER a relay probe on that link receives.
No interface names are given to the server: it serves whatever link has an address in a declared subnet.
kea-dhcp4 and isc-dhcpd open their sockets at start and never serve such a link without a restart, so only
this server is measured.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.netns import Topology, extra_link, run_ip
from bench.run import start_probe, stop_process, time_first_offer
from bench.servers import Ours

STARTUP_TIMEOUT = 60.0
PROBE_TIMEOUT = 30.0


def measure_once(topology: Topology) -> float | None:
    """Seconds from the new link's address being added to its first OFFER (None: never served)."""
    new_link = extra_link(len(topology.links), topology.far_namespace)
    server = Ours()
    with tempfile.TemporaryDirectory(prefix="bch-rt-") as workdir_name:
        workdir = Path(workdir_name)
        server.write_config(workdir, [*topology.links, new_link])
        with open(workdir / "server.log", "w") as log:
            def launch() -> subprocess.Popen:
                return subprocess.Popen(topology.command_in(topology.server_namespace, server.argv(workdir, [])),
                                        stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                                        env={**os.environ, **server.environment(workdir)})
            process, started = time_first_offer(topology, launch, STARTUP_TIMEOUT)
            try:
                if started is None:
                    raise RuntimeError(f"server did not start: {(workdir / 'server.log').read_text()[-500:]}")
                return _time_new_link(topology, new_link)
            finally:
                stop_process(process)
                run_ip("-n", topology.server_namespace, "link", "del", new_link.server_device)


def _time_new_link(topology: Topology, link) -> float | None:
    run_ip("link", "add", link.server_device, "netns", topology.server_namespace, "type", "veth",
            "peer", "name", link.peer_device, "netns", link.peer_namespace)
    run_ip("-n", link.peer_namespace, "addr", "add", f"{link.peer_address}/{link.network.prefixlen}",
            "dev", link.peer_device)
    run_ip("-n", link.peer_namespace, "link", "set", link.peer_device, "up")
    # A permanent neighbour entry for the server's address: otherwise the probe's first DISCOVER, sent before
    # the address exists, fails ARP and the kernel retries only a second later, which is not the server's time.
    listing = subprocess.run(["ip", "-n", topology.server_namespace, "-j", "link", "show", "dev", link.server_device],
                             check=True, capture_output=True, text=True).stdout
    run_ip("-n", link.peer_namespace, "neigh", "replace", link.server_address, "lladdr",
            json.loads(listing)[0]["address"], "dev", link.peer_device, "nud", "permanent")
    probe = start_probe(topology, link, PROBE_TIMEOUT)
    try:
        run_ip("-n", topology.server_namespace, "link", "set", link.server_device, "up")
        run_ip("-n", topology.server_namespace, "addr", "add", f"{link.server_address}/{link.network.prefixlen}",
                "dev", link.server_device)
        added_at = time.monotonic()
        answered = probe.stdout.read().strip() if probe.wait(PROBE_TIMEOUT + 5) == 0 else ""
        return float(answered) - added_at if answered else None
    finally:
        stop_process(probe)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime_link", description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=1000, help="links present before the new one (default 1000)")
    parser.add_argument("--reps", type=int, default=3)
    arguments = parser.parse_args()
    with Topology(arguments.links) as topology:
        times = [measure_once(topology) for _ in range(arguments.reps)]
    shown = ", ".join("never" if t is None else f"{t * 1000:.0f} ms" for t in times)
    served = [t for t in times if t is not None]
    median = f"{statistics.median(served) * 1000:.0f} ms" if served else "never"
    print(f"ours, {arguments.links} links: link added at runtime served after {shown} (median {median})")
    return 0 if len(served) == len(times) else 1


if __name__ == "__main__":
    sys.exit(main())
