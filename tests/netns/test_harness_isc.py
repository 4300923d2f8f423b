"""The harness proven against isc-dhcpd: each real client gets an address on its own link, through a relay too.

These tests also pin down isc-dhcpd's behaviour on the same probes the differential tests send to our server.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from tests.harness.clients import Dhclient, Dhcpcd, Udhcpc
from tests.harness.isc import IscSubnet, isc_config, start_isc_dhcpd
from tests.harness.perfdhcp import run_perfdhcp
from tests.harness.relay import start_dhcrelay

pytestmark = [pytest.mark.netns, pytest.mark.slow]

POOL = IscSubnet(IPv4Network("10.99.1.0/24"), IPv4Address("10.99.1.100"), IPv4Address("10.99.1.199"))
RELAYED_POOL = IscSubnet(IPv4Network("10.99.2.0/24"), IPv4Address("10.99.2.100"), IPv4Address("10.99.2.199"))


@pytest.fixture
def served_link(netns):
    """A server namespace running isc-dhcpd on s0 (10.99.1.1/24) and a client namespace holding c0."""
    server, client = netns("tinf"), netns("tinf")
    server.veth(client, "s0", "c0")
    server.add_address("s0", "10.99.1.1/24")
    start_isc_dhcpd(server, isc_config([POOL]), ["s0"])
    return client


def in_pool(address: IPv4Address | None, pool: IscSubnet = POOL) -> bool:
    return address is not None and pool.first <= address <= pool.last


def test_dhclient_binds_and_releases(served_link):
    dhclient = Dhclient(served_link, "c0")
    address = dhclient.acquire()
    assert in_pool(address)
    assert f"{address}/24" in served_link.addresses("c0")
    assert dhclient.reboot() == address
    assert dhclient.release()
    assert served_link.addresses("c0") == []


def test_udhcpc_binds_renews_and_releases(served_link):
    udhcpc = Udhcpc(served_link, "c0")
    address = udhcpc.acquire()
    assert in_pool(address)
    assert udhcpc.renew() == address
    assert udhcpc.release()


def test_dhcpcd_binds_renews_and_releases(served_link):
    dhcpcd = Dhcpcd(served_link, "c0")
    address = dhcpcd.acquire()
    assert in_pool(address)
    assert f"{address}/24" in served_link.addresses("c0")
    assert dhcpcd.renew() == address
    assert dhcpcd.release()


def test_client_behind_dhcrelay_gets_an_address_from_the_relayed_subnet(netns):
    server, relay, client = netns("tinf"), netns("tinf"), netns("tinf")
    server.veth(relay, "s0", "r0")
    relay.veth(client, "r1", "c0")
    server.add_address("s0", "10.99.1.1/24")
    relay.add_address("r0", "10.99.1.2/24")
    relay.add_address("r1", "10.99.2.1/24")
    server.run(["ip", "route", "add", str(RELAYED_POOL.network), "via", "10.99.1.2"])
    dhcpd = start_isc_dhcpd(server, isc_config([POOL, RELAYED_POOL]), ["s0"])
    start_dhcrelay(relay, IPv4Address("10.99.1.1"), upstream_if="r0", downstream_if="r1")

    address = Udhcpc(client, "c0").acquire()

    assert in_pool(address, RELAYED_POOL)
    assert f"DHCPACK on {address}" in dhcpd.log()
    assert "via 10.99.2.1" in dhcpd.log()


def test_perfdhcp_completes_a_small_run(served_link):
    served_link.add_address("c0", "10.99.1.2/24")

    result = run_perfdhcp(served_link, "c0", IPv4Address("10.99.1.1"), rate=20, num_requests=20)

    assert result.discover_offer.sent == 20
    assert result.request_ack.received > 0
    assert result.request_ack.non_unique_addresses == 0


@pytest.mark.parametrize("client_class", [Dhclient, Udhcpc, Dhcpcd])
def test_client_on_a_link_without_server_gets_nothing_and_is_stopped(netns, client_class):
    lonely, peer = netns("tinf"), netns("tinf")
    lonely.veth(peer, "c0", "p0")
    client = client_class(lonely, "c0")

    assert client.acquire(timeout=2) is None
    assert not client.process.alive()
