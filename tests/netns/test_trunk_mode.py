"""Trunk mode on a veth with no kernel VLAN devices: 802.1Q and QinQ requests answered with the same tags
from the configured server address, leases recording the VLAN ids, a client moving VLAN treated as on
another network, and one packet socket per trunk (never one per VLAN)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from dhcpd.wire.message import MessageType
from tests.harness.pydhcpd import start_server, stored_leases
from tests.harness.rawclient import RawClient
from tests.harness.waiting import poll

pytestmark = [pytest.mark.netns, pytest.mark.slow]

CONFIG = """
authoritative;
default-lease-time 600;
trunk tr0 {
  vlan 100 {
    subnet 10.100.0.0 netmask 255.255.255.0 { server-address 10.100.0.1; range 10.100.0.10 10.100.0.20; }
  }
  vlan 200 inner 300 {
    subnet 10.123.0.0 netmask 255.255.255.0 { server-address 10.123.0.1; range 10.123.0.10 10.123.0.20; }
  }
}
trunk tr1 {
  vlan 100 {
    subnet 10.101.0.0 netmask 255.255.255.0 { server-address 10.101.0.1; range 10.101.0.10 10.101.0.20; }
  }
}
"""
SERVER_ID = 54
REQUESTED_ADDRESS = 50


@pytest.fixture
def trunks(netns):
    """Server namespace with trunks tr0 and tr1 (no addresses, no VLAN devices), each to a client namespace."""
    server = netns("tvl")
    clients = [netns("tvl"), netns("tvl")]
    for number, client in enumerate(clients):
        server.veth(client, f"tr{number}", "c0")
    process = start_server(server, CONFIG)
    raw_clients = [RawClient(client, "c0", bytes.fromhex(f"02000000aa0{number}")) for number, client in enumerate(clients)]
    try:
        yield server, process, raw_clients
    finally:
        for client in raw_clients:
            client.close()


def exchange(client: RawClient, kind: MessageType, xid: int, vlans: tuple[int, ...], **options: bytes):
    client.send(client.request(kind, xid, options={int(code[1:]): value for code, value in options.items()}),
                vlans=vlans)
    return client.reply_frames(xid)



@pytest.mark.parametrize("vlans, network, server_ip", [
    ((100,), "10.100.0.0/24", "10.100.0.1"),
    ((200, 300), "10.123.0.0/24", "10.123.0.1"),
])
def test_tagged_requests_get_tagged_replies_and_leases_record_the_vlans(trunks, vlans, network, server_ip):
    server, process, (client, _) = trunks
    [offer] = exchange(client, MessageType.DISCOVER, 1, vlans)
    assert offer.message.message_type is MessageType.OFFER and offer.vlans == vlans, process.log()
    assert offer.message.yiaddr in IPv4Network(network)
    assert offer.src_ip == IPv4Address(server_ip) and offer.message.options[SERVER_ID] == IPv4Address(server_ip).packed
    [ack] = exchange(client, MessageType.REQUEST, 2, vlans, o50=offer.message.yiaddr.packed,
                     o54=offer.message.options[SERVER_ID])
    assert ack.message.message_type is MessageType.ACK and ack.vlans == vlans
    lease = stored_leases(server)[offer.message.yiaddr]
    label = "/".join(["tr0", *map(str, vlans)])
    assert (lease.interface, lease.vlan, lease.inner_vlan) == (label, vlans[0], vlans[1] if len(vlans) > 1 else None)
    assert process.logged(f"via {label}"), process.log()


def test_each_trunk_maps_its_own_vlans(trunks):
    _, process, (_, client) = trunks
    [offer] = exchange(client, MessageType.DISCOVER, 5, (100,))
    assert offer.message.yiaddr in IPv4Network("10.101.0.0/24") and offer.vlans == (100,), process.log()


def test_unconfigured_tags_and_untagged_frames_get_no_answer(trunks):
    _, process, (client, _) = trunks
    assert exchange(client, MessageType.DISCOVER, 7, (101,)) == []
    assert exchange(client, MessageType.DISCOVER, 8, ()) == []
    assert exchange(client, MessageType.DISCOVER, 9, (200,)) == []
    assert exchange(client, MessageType.DISCOVER, 10, (100,)) != [], process.log()


def test_a_client_that_moves_to_another_vlan_is_on_another_network(trunks):
    _, process, (client, _) = trunks
    [offer] = exchange(client, MessageType.DISCOVER, 11, (100,))
    [ack] = exchange(client, MessageType.REQUEST, 12, (100,), o50=offer.message.yiaddr.packed,
                     o54=offer.message.options[SERVER_ID])
    assert ack.message.message_type is MessageType.ACK
    [moved] = exchange(client, MessageType.REQUEST, 13, (200, 300), o50=offer.message.yiaddr.packed)
    assert moved.message.message_type is MessageType.NAK and moved.vlans == (200, 300), process.log()
    [fresh] = exchange(client, MessageType.DISCOVER, 14, (200, 300))
    assert fresh.message.yiaddr in IPv4Network("10.123.0.0/24")


def test_one_packet_socket_per_trunk(trunks):
    server, _, (client, _) = trunks
    assert exchange(client, MessageType.DISCOVER, 20, (100,)) != []
    sockets = server.run(["cat", "/proc/net/packet"]).stdout.splitlines()[1:]
    assert len(sockets) == 1 + 2


def test_a_trunk_created_after_start_is_followed(netns):
    server, client = netns("tvl"), netns("tvl")
    process = start_server(server, CONFIG.replace("trunk tr1", "trunk late0"))
    raw = None
    try:
        server.veth(client, "late0", "c0")
        raw = RawClient(client, "c0", bytes.fromhex("02000000bb01"))
        answered = poll(lambda: exchange(raw, MessageType.DISCOVER, 30, (100,), ) or None, 10)
        assert answered and answered[0].message.yiaddr in IPv4Network("10.101.0.0/24"), process.log()
        assert "trunk late0: listening" in process.log()
    finally:
        if raw is not None:
            raw.close()
