"""Served links on this host's kernel (no 802.1Q here; VLAN devices and bonds are in tests/vm): a request
into a bridge is answered once, by the bridge; macvlan copies; links added and removed at runtime."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from dhcpd.wire.message import MessageType
from tests.harness.pydhcpd import start_server
from tests.harness.rawclient import RawClient
from tests.harness.waiting import poll

pytestmark = [pytest.mark.netns, pytest.mark.slow]

CONFIG = """
default-lease-time 600;
subnet 10.60.0.0 netmask 255.255.255.0 { range 10.60.0.10 10.60.0.20; }
subnet 10.61.0.0 netmask 255.255.255.0 { range 10.61.0.10 10.61.0.20; }
subnet 10.62.0.0 netmask 255.255.255.0 { range 10.62.0.10 10.62.0.20; }
"""


def mac_of(namespace, ifname: str) -> bytes:
    return bytes.fromhex(namespace.run(["cat", f"/sys/class/net/{ifname}/address"]).stdout.strip().replace(":", ""))


def discover(client: RawClient, xid: int, timeout: float = 3.0):
    client.send(client.request(MessageType.DISCOVER, xid))
    return client.reply_frames(xid, timeout=timeout, count=2)


def test_a_request_into_a_bridge_port_is_answered_once_by_the_bridge(netns):
    server, client, other = netns("tvl"), netns("tvl"), netns("tvl")
    server.add_bridge("br0")
    server.add_address("br0", "10.60.0.1/24")
    server.veth(client, "p1", "c0")
    server.veth(other, "p2", "c0")
    server.attach_to_bridge("p1", "br0")
    server.attach_to_bridge("p2", "br0")
    process = start_server(server, CONFIG)
    raw = RawClient(client, "c0", bytes.fromhex("020000600001"))
    try:
        replies = discover(raw, 1)
        assert len(replies) == 1, process.log()
        assert replies[0].message.yiaddr in IPv4Network("10.60.0.0/24")
        assert replies[0].src_mac == mac_of(server, "br0") and str(replies[0].src_ip) == "10.60.0.1"
        assert process.logged("via br0") and "via p1" not in process.log()
    finally:
        raw.close()


@pytest.mark.parametrize("lower_served", [True, False])
def test_a_macvlan_child_and_its_lower_device_answer_a_broadcast_once(netns, lower_served):
    server, client = netns("tvl"), netns("tvl")
    server.veth(client, "up0", "c0")
    server.run(["ip", "link", "add", "mv0", "link", "up0", "type", "macvlan", "mode", "bridge"])
    server.up("mv0")
    server.add_address("mv0", "10.61.0.1/24")
    if lower_served:
        server.add_address("up0", "10.60.0.1/24")
    process = start_server(server, CONFIG)
    raw = RawClient(client, "c0", bytes.fromhex("020000610001"))
    try:
        replies = discover(raw, 2)
        assert len(replies) == 1, process.log()
        served_by, network = ("up0", "10.60.0.0/24") if lower_served else ("mv0", "10.61.0.0/24")
        assert replies[0].message.yiaddr in IPv4Network(network)
        assert replies[0].src_mac == mac_of(server, served_by)
    finally:
        raw.close()


def test_a_link_added_at_runtime_is_served_and_stops_being_served_when_removed(netns):
    server, client = netns("tvl"), netns("tvl")
    process = start_server(server, CONFIG)
    server.veth(client, "new0", "c0")
    raw = RawClient(client, "c0", bytes.fromhex("020000620001"))
    try:
        assert discover(raw, 3, timeout=0.5) == []
        server.add_address("new0", "10.62.0.1/24")
        replies = poll(lambda: discover(raw, 4, timeout=0.5) or None, 5)
        assert replies and replies[0].message.yiaddr in IPv4Network("10.62.0.0/24"), process.log()
        server.run(["ip", "address", "del", "10.62.0.1/24", "dev", "new0"])
        assert poll(lambda: True if discover(raw, 5, timeout=0.5) == [] else None, 5), process.log()
    finally:
        raw.close()
