"""Abuse from one port cannot starve the others: a one-MAC storm is cut per MAC, a storm of random MACs per
link, a starvation attack empties only its own link's pool, a DECLINE flood declines at most a quarter of
a pool; each shows in the per-link drop counters of the REST API, and a client on another link is served.

Limits are set so low (N per hour) that how fast the test sends makes no difference to what is counted.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network

import pytest

from dhcpd.leases.record import LeaseState
from dhcpd.leases.store import LeaseStore
from dhcpd.wire.message import BROADCAST_FLAG, DhcpMessage, MessageType
from tests.harness.pydhcpd import database_url, start_server
from tests.harness.rawclient import RawClient
from tests.harness.waiting import poll

pytestmark = pytest.mark.netns

CONFIG = """
authoritative;
subnet 10.63.1.0 netmask 255.255.255.0 { range 10.63.1.10 10.63.1.21; }
subnet 10.63.2.0 netmask 255.255.255.0 { range 10.63.2.10 10.63.2.29; }
"""
STORM_SERVER_ID = IPv4Address("10.63.1.1").packed
QUIET_NETWORK = IPv4Network("10.63.2.0/24")
STORM = 300


def message(kind: MessageType, xid: int, mac: bytes, address: IPv4Address | None = None) -> DhcpMessage:
    """A broadcast request; `address` goes in option 50 (requested address) with our server id."""
    options = {53: bytes([kind])}
    if address is not None:
        options.update({50: address.packed, 54: STORM_SERVER_ID})
    return DhcpMessage(xid=xid, chaddr=mac, flags=BROADCAST_FLAG, options=options)


def random_mac(n: int) -> bytes:
    return bytes([2, 0x63, 0, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF])


@pytest.fixture
def site(netns):
    """Start the server with extra flags: links s1 (storm, 12 addresses) and s2 (quiet), a raw client on each."""
    server, storm, quiet = netns("trb"), netns("trb"), netns("trb")
    server.veth(storm, "s1", "c1")
    server.veth(quiet, "s2", "c2")
    server.add_address("s1", "10.63.1.1/24")
    server.add_address("s2", "10.63.2.1/24")
    clients = [RawClient(storm, "c1", random_mac(0)), RawClient(quiet, "c2", bytes.fromhex("020063ffff01"))]

    def start(*flags: str):
        return start_server(server, CONFIG, ["s1", "s2"], extra_args=flags)

    try:
        yield server, start, clients
    finally:
        for client in clients:
            client.close()


def link_drops(server, name: str) -> dict[str, int]:
    output = server.run(["curl", "-sf", "http://127.0.0.1:8067/api/v1/interfaces"]).stdout
    return next(link["drops"] for link in json.loads(output) if link["name"] == name)


def states_when_three_declined(server, addresses: list[IPv4Address]) -> list[LeaseState] | None:
    store = LeaseStore(database_url(server))
    try:
        states = [lease.state for lease in store.load_all() if lease.ip in addresses]
    finally:
        store.close()
    return states if states.count(LeaseState.DECLINED) == 3 else None


def quiet_client_is_served(client: RawClient) -> bool:
    client.send(message(MessageType.DISCOVER, 9001, client.mac))
    offers = client.replies(9001, timeout=5)
    return bool(offers) and offers[0][0].yiaddr in QUIET_NETWORK


def test_a_one_mac_storm_is_cut_per_mac_and_the_other_link_is_served(site):
    server, start, (storm, quiet) = site
    process = start("--rate-limit-mac", "5/h")
    for xid in range(1, STORM + 1):
        storm.send(message(MessageType.DISCOVER, xid, storm.mac))
    assert poll(lambda: link_drops(server, "s1").get("rate-limit-mac") or None, 10), process.log()
    assert quiet_client_is_served(quiet), process.log()
    assert process.logged("DHCPDISCOVER from 02:63:00:00:00:00")   # its lines may come up to 20 ms after the packets
    assert process.log().count("DHCPDISCOVER from 02:63:00:00:00:00") <= 5
    assert "rate-limit-mac" not in link_drops(server, "s2")


def test_a_storm_of_random_macs_is_cut_per_link_and_the_other_link_is_served(site):
    server, start, (storm, quiet) = site
    process = start("--rate-limit-link", "10/h")
    for n in range(1, STORM + 1):
        storm.send(message(MessageType.DISCOVER, n, random_mac(n)))
    assert poll(lambda: link_drops(server, "s1").get("rate-limit-link") or None, 10), process.log()
    assert quiet_client_is_served(quiet), process.log()
    assert process.logged("DHCPDISCOVER from 02:63:")   # its lines may come up to 20 ms after the packets
    assert process.log().count("DHCPDISCOVER from 02:63:") <= 10
    assert "rate-limit-link" not in link_drops(server, "s2")


def test_a_starvation_attack_empties_only_its_own_links_pool_and_shows_in_the_stats(site):
    server, start, (storm, quiet) = site
    process = start()
    for n in range(1, STORM + 1):
        storm.send(message(MessageType.DISCOVER, n, random_mac(n)))
    assert poll(lambda: link_drops(server, "s1").get("no-free-leases") or None, 15), process.log()
    assert process.logged("DHCPOFFER on 10.63.1."), process.log()
    offered = {line.split()[2] for line in process.log().splitlines() if "DHCPOFFER on 10.63.1." in line}
    assert 0 < len(offered) <= 12
    assert quiet_client_is_served(quiet), process.log()
    assert "no-free-leases" not in link_drops(server, "s2")


def test_a_decline_flood_takes_at_most_a_quarter_of_the_pool_out_of_use(site):
    server, start, (storm, quiet) = site
    process = start()
    declined = []
    for n in range(1, 9):
        mac = random_mac(n)
        storm.send(message(MessageType.DISCOVER, 100 + n, mac))
        offer = storm.replies(100 + n)[0][0]
        storm.send(message(MessageType.REQUEST, 200 + n, mac, offer.yiaddr))
        assert storm.replies(200 + n)[0][0].message_type is MessageType.ACK, process.log()
        storm.send(message(MessageType.DECLINE, 300 + n, mac, offer.yiaddr))
        declined.append(offer.yiaddr)
    assert poll(lambda: True if link_drops(server, "s1").get("decline-limit") == 5 else None, 10), process.log()
    states = poll(lambda: states_when_three_declined(server, declined), 10)
    assert states is not None and states.count(LeaseState.ACTIVE) == 5    # 25% of 12 declined, the rest kept
    storm.send(message(MessageType.DISCOVER, 400, random_mac(99)))
    assert storm.replies(400)[0][0].yiaddr not in declined
