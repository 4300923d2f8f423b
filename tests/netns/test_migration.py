"""Migration from isc-dhcpd: clients served by isc-dhcpd first, its dhcpd.leases imported with `-lf`, and the
same clients (by MAC and by client identifier) get the same addresses from this server."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from dhcpd.leases.record import LeaseState
from dhcpd.wire.message import BROADCAST_FLAG, DhcpMessage, MessageType
from tests.harness.isc import start_isc_dhcpd
from tests.harness.pydhcpd import start_server, stored_leases
from tests.harness.rawclient import RawClient

pytestmark = [pytest.mark.netns, pytest.mark.slow]

CONFIG = """
authoritative;
default-lease-time 3600;
max-lease-time 3600;
ddns-update-style none;
ping-check false;
subnet 10.62.1.0 netmask 255.255.255.0 {
  range 10.62.1.10 10.62.1.40;
  option routers 10.62.1.1;
}
"""
SERVER_IP = IPv4Address("10.62.1.1")
CLIENTS = [(bytes([2, 0x62, 0, 0, 0, n]), bytes([0xFF, n]) + b"migrating" if n % 3 == 0 else None)
           for n in range(1, 9)]


def site(netns):
    server, clients = netns("tisc"), netns("tisc")
    server.veth(clients, "s0", "c0")
    server.add_address("s0", "10.62.1.1/24")
    return server, clients


def exchange(namespace, mac: bytes, client_id: bytes | None, kind: MessageType, xid: int,
             options: dict[int, bytes] | None = None) -> DhcpMessage | None:
    client = RawClient(namespace, "c0", mac)
    try:
        identity = {61: client_id} if client_id is not None else {}
        client.send(client.request(kind, xid, flags=BROADCAST_FLAG, options={**identity, **(options or {})}))
        replies = client.replies(xid)
    finally:
        client.close()
    return replies[0][0] if replies else None


def acquire(namespace, mac: bytes, client_id: bytes | None, xid: int) -> IPv4Address:
    offer = exchange(namespace, mac, client_id, MessageType.DISCOVER, xid)
    assert offer is not None, f"no offer for {mac.hex()}"
    ack = exchange(namespace, mac, client_id, MessageType.REQUEST, xid + 1,
                   {50: offer.yiaddr.packed, 54: SERVER_IP.packed})
    assert ack is not None and ack.message_type is MessageType.ACK
    return ack.yiaddr


def test_clients_keep_their_isc_addresses_after_migration(netns):
    isc_server, isc_clients = site(netns)
    isc = start_isc_dhcpd(isc_server, CONFIG, ["s0"])
    before = {mac: acquire(isc_clients, mac, client_id, 10 * n) for n, (mac, client_id) in enumerate(CLIENTS, 1)}
    isc.stop()
    lease_file = isc_server.workdir / "isc-dhcpd" / "dhcpd.leases"

    server, clients = site(netns)
    ours = start_server(server, CONFIG, ["s0"], extra_args=["-lf", str(lease_file)])
    assert f"imported {len(CLIENTS)} leases" in ours.log()
    imported = stored_leases(server)
    assert {ip for ip, lease in imported.items() if lease.state is LeaseState.ACTIVE} == set(before.values())

    # reversed order: without the imported leases the allocator would hand these out differently
    for n, (mac, client_id) in enumerate(reversed(CLIENTS), 1):
        init_reboot = exchange(clients, mac, client_id, MessageType.REQUEST, 1000 + n,
                               {50: before[mac].packed})
        assert init_reboot is not None and init_reboot.message_type is MessageType.ACK, ours.log()
        assert init_reboot.yiaddr == before[mac]
        assert acquire(clients, mac, client_id, 2000 + 10 * n) == before[mac]
