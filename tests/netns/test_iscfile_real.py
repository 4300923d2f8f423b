"""dhcpd.leases against the real isc-dhcpd: we read what it wrote for real clients, and it reads what we write.

Three dhclient clients, each in its own namespace, reach isc-dhcpd over veth pairs joined by a bridge in
the server's namespace. After isc-dhcpd stops, its lease file must name each client's MAC with the address
that client got. Then the leases go out through `write_leases`: `dhcpd -T` must load every one of them, and
isc-dhcpd restarted on that file must give each client, which has forgotten its lease, the same address.
"""

from __future__ import annotations

import re
import time
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from dhcpd.leases.iscfile import parse_leases, write_leases
from dhcpd.leases.record import LeaseState
from tests.harness.clients import Dhclient
from tests.harness.isc import IscSubnet, isc_config, start_isc_dhcpd
from tests.harness.netns import Namespace

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LINK = IPv4Network("10.98.7.0/24")
POOL = IscSubnet(LINK, IPv4Address("10.98.7.100"), IPv4Address("10.98.7.150"))
CLIENTS = 3


def mac_of(namespace: Namespace, ifname: str) -> bytes:
    output = namespace.run(["ip", "-o", "link", "show", "dev", ifname]).stdout
    return bytes.fromhex(re.search(r"link/ether ([0-9a-f:]{17})", output).group(1).replace(":", ""))


def acquire_all(clients: list[Dhclient]) -> dict[bytes, IPv4Address]:
    """Each client's MAC and the address it bound (after forgetting any lease it remembered)."""
    bound = {}
    for client in clients:
        client.stop()
        (client.workdir / "dhclient.leases").unlink(missing_ok=True)
        address = client.acquire()
        assert address in LINK, f"{client.ifname} got no address: {client.events.read()}"
        bound[mac_of(client.namespace, client.ifname)] = address
    return bound


def isc_lease_file(server: Namespace) -> Path:
    return server.workdir / "isc-dhcpd" / "dhcpd.leases"


def test_isc_dhcpd_and_we_read_each_others_lease_files(netns):
    server = netns("tlf")
    server.add_bridge("br0")
    server.add_address("br0", f"{next(LINK.hosts())}/{LINK.prefixlen}")
    clients = []
    for number in range(1, CLIENTS + 1):
        client_namespace = netns("tlf")
        server.veth(client_namespace, f"s{number}", f"c{number}")
        server.attach_to_bridge(f"s{number}", "br0")
        clients.append(Dhclient(client_namespace, f"c{number}"))

    isc = start_isc_dhcpd(server, isc_config([POOL]), ["br0"])
    bound = acquire_all(clients)
    isc.stop()
    leases = list(parse_leases(isc_lease_file(server)))
    assert {lease.mac: lease.ip for lease in leases if lease.state is LeaseState.ACTIVE} == bound

    ours = server.workdir / "ours.leases"
    with open(ours, "w", encoding="latin-1") as out:
        write_leases(leases, out, now=time.time())
    checked = server.run(["dhcpd", "-4", "-T", "-cf", str(isc_lease_file(server).with_name("dhcpd.conf")),
                          "-lf", str(ours), "-pf", str(server.workdir / "test.pid")])
    report = checked.stdout + checked.stderr
    assert f"Wrote {len(leases)} leases to leases file." in report, report
    assert "orrupt" not in report, report

    isc_lease_file(server).write_text(ours.read_text(encoding="latin-1"), encoding="latin-1")
    start_isc_dhcpd(server, isc_config([POOL]), ["br0"])
    assert acquire_all(list(reversed(clients))) == bound
