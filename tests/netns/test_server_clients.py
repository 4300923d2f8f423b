"""The server end to end with real clients: dhclient, udhcpc and dhcpcd each on its own link, a reserved
host, renewal, release, decline, a relayed client with option 82, perfdhcp, one packet socket, bad input."""

from __future__ import annotations

import signal
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from dhcpd.leases.record import LeaseState
from dhcpd.wire.message import MessageType
from tests.harness.clients import Dhclient, Dhcpcd, Udhcpc
from tests.harness.perfdhcp import run_perfdhcp
from tests.harness.pydhcpd import start_server, stored_leases
from tests.harness.rawclient import RawClient
from tests.harness.relay import start_dhcrelay
from tests.harness.waiting import poll

pytestmark = pytest.mark.netns

DEMO_CONFIG = (Path(__file__).resolve().parents[2] / "etc" / "demo.conf").read_text()
RELAY_SUBNET = """
subnet 10.77.9.0 netmask 255.255.255.0 {
  range 10.77.9.100 10.77.9.199;
  option routers 10.77.9.1;
}
subnet 10.77.8.0 netmask 255.255.255.0 { }
"""


@pytest.fixture
def site(netns):
    """The server namespace with three links s1..s3, each to its own client namespace c1..c3."""
    server = netns("srv")
    clients = []
    for n in (1, 2, 3):
        client = netns(f"c{n}")
        server.veth(client, f"s{n}", f"c{n}")
        server.add_address(f"s{n}", f"10.77.{n}.1/24")
        clients.append(client)
    return server, clients



def test_three_real_clients_get_addresses_from_their_own_link(site):
    server, (c1, c2, c3) = site
    process = start_server(server, DEMO_CONFIG)
    got = {
        "s1": Dhclient(c1, "c1").acquire(),
        "s2": Udhcpc(c2, "c2").acquire(),
        "s3": Dhcpcd(c3, "c3").acquire(),
    }
    for n, (link, address) in enumerate(got.items(), start=1):
        assert address is not None and address in IPv4Network(f"10.77.{n}.0/24"), (link, address, process.log())
    leases = stored_leases(server)
    for link, address in got.items():
        assert leases[address].state is LeaseState.ACTIVE and leases[address].interface == link
    assert process.logged(f"DHCPACK on {got['s1']} to "), process.log()
    log = process.log()
    assert "DHCPDISCOVER from " in log and f"DHCPACK on {got['s1']} to " in log and "via s1" in log


def test_reserved_mac_gets_its_fixed_address(site):
    server, (c1, _, _) = site
    c1.run(["ip", "link", "set", "c1", "address", "02:00:00:77:01:50"])
    start_server(server, DEMO_CONFIG)
    assert Dhclient(c1, "c1").acquire() == IPv4Address("10.77.1.50")


def test_dhclient_renews_by_unicast_and_release_frees_the_address(site):
    server, (c1, _, _) = site
    process = start_server(server, DEMO_CONFIG.replace("default-lease-time 600;", "default-lease-time 4;"))
    client = Dhclient(c1, "c1")
    address = client.acquire()
    assert address is not None
    renewed = client.wait_event(len(client.events.read()), frozenset({"renew"}), timeout=15)
    assert renewed.name == "renew" and renewed.address == address, process.log()
    assert process.logged(f"DHCPACK on {address}", times=2), process.log()
    assert client.release()
    assert poll(lambda: stored_leases(server)[address].state is LeaseState.RELEASED, 5), process.log()
    assert process.logged(f"DHCPRELEASE of {address}"), process.log()


def test_decline_keeps_the_address_out_of_use(site):
    server, (c1, _, _) = site
    process = start_server(server, DEMO_CONFIG)
    client = RawClient(c1, "c1", bytes.fromhex("020000aa0001"))
    try:
        client.send(client.request(MessageType.DISCOVER, 1))
        offer = client.replies(1)[0][0]
        declined = offer.yiaddr
        client.send(client.request(MessageType.REQUEST, 2, options={50: declined.packed, 54: offer.options[54]}))
        assert client.replies(2)[0][0].message_type is MessageType.ACK
        client.send(client.request(MessageType.DECLINE, 3, options={50: declined.packed, 54: offer.options[54]}))
        assert poll(lambda: stored_leases(server)[declined].state is LeaseState.DECLINED, 5), process.log()
        for xid in range(10, 20):
            client.send(client.request(MessageType.DISCOVER, xid))
            assert client.replies(xid)[0][0].yiaddr != declined
    finally:
        client.close()


def test_client_behind_dhcrelay_gets_an_address_of_the_relay_subnet(netns):
    server, relay, client = netns("srv"), netns("rly"), netns("cli")
    server.veth(relay, "s0", "r0")
    server.add_address("s0", "10.77.8.1/24")
    relay.add_address("r0", "10.77.8.2/24")
    relay.veth(client, "r1", "c0")
    relay.add_address("r1", "10.77.9.1/24")
    server.run(["ip", "route", "add", "10.77.9.0/24", "via", "10.77.8.2"])
    relay.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    process = start_server(server, DEMO_CONFIG + RELAY_SUBNET)
    start_dhcrelay(relay, IPv4Address("10.77.8.1"), "r0", "r1", agent_option=True)
    address = Dhclient(client, "c0").acquire()
    assert address is not None and address in IPv4Network("10.77.9.0/24"), process.log()
    lease = stored_leases(server)[address]
    assert lease.relay == IPv4Address("10.77.9.1") and lease.circuit_id == b"r1"
    assert process.logged("via 10.77.9.1"), process.log()


def test_perfdhcp_completes_2000_exchanges_without_loss(netns):
    server, tester = netns("srv"), netns("prf")
    server.veth(tester, "s0", "c0")
    server.add_address("s0", "10.99.0.1/16")
    tester.add_address("c0", "10.99.0.2/16")
    config = "authoritative;\nsubnet 10.99.0.0 netmask 255.255.0.0 {\n  range 10.99.1.0 10.99.20.255;\n}\n"
    process = start_server(server, config)
    result = run_perfdhcp(tester, "c0", IPv4Address("10.99.0.1"), rate=200, num_requests=2000, timeout=90)
    assert result.discover_offer.sent == 2000 and result.discover_offer.drops == 0, result.output
    assert result.request_ack.drops == 0 and result.request_ack.received == result.request_ack.sent, result.output
    assert process.logged("DHCPACK on", times=2000), process.log()[-2000:]


def test_one_packet_socket_however_many_links(netns):
    server = netns("srv")
    far = netns("far")
    for n in range(20):
        server.veth(far, f"s{n}", f"f{n}")
        server.add_address(f"s{n}", f"10.78.{n}.1/24")
    subnets = "".join(f"subnet 10.78.{n}.0 netmask 255.255.255.0 {{ range 10.78.{n}.10 10.78.{n}.20; }}\n"
                      for n in range(20))
    process = start_server(server, subnets)
    sockets = server.run(["cat", "/proc/net/packet"]).stdout.strip().splitlines()[1:]
    assert len(sockets) == 1, sockets
    assert "serving 20 link(s)" in process.log()


def test_server_survives_a_burst_of_malformed_packets(site):
    server, (c1, _, _) = site
    process = start_server(server, DEMO_CONFIG)
    raw = RawClient(c1, "c1", bytes.fromhex("020000bb0001"))
    try:
        for n in range(500):
            payload = bytes((n * 7 + i) % 256 for i in range(n % 400))
            raw.send_frame(_udp_frame_to_67(raw.mac, payload))
        raw.send(raw.request(MessageType.DISCOVER, 77))
        assert raw.replies(77)[0][0].message_type is MessageType.OFFER, process.log()
    finally:
        raw.close()
    assert process.alive()
    process.signal(signal.SIGTERM)
    assert process.wait(10) == 0


def _udp_frame_to_67(mac: bytes, payload: bytes) -> bytes:
    from dhcpd.wire.frame import build_frame

    return build_frame(src_mac=mac, dst_mac=b"\xff" * 6, src_ip=IPv4Address(0),
                       dst_ip=IPv4Address("255.255.255.255"), src_port=68, dst_port=67, payload=payload)
