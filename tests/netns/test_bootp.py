"""BOOTP and get-lease-hostnames through the whole server: a dynamic BOOTP lease is committed with no end and
kept across a restart; a reverse lookup that never answers still lets the client have its offer, without a
name, once the lookup's time is up. (tests/netns/test_differential_isc.py compares both with isc-dhcpd.)"""

from __future__ import annotations

import math
import shutil
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from dhcpd.leases.record import LeaseState
from dhcpd.wire.message import DhcpMessage, MessageType
from tests.harness.pydhcpd import READY_LINE, start_server, stored_leases
from tests.harness.rawclient import RawClient
from tests.harness.waiting import poll

pytestmark = [pytest.mark.netns, pytest.mark.slow]

CONFIG = """
ddns-update-style none;
subnet 10.61.1.0 netmask 255.255.255.0 {
  range 10.61.1.10 10.61.1.19;
  range dynamic-bootp 10.61.1.20 10.61.1.21;
}
"""


def mac(n: int) -> bytes:
    return bytes([2, 0x61, 0, 0, 0, n])


@pytest.fixture
def site(netns):
    server, client = netns("tbp"), netns("tbp")
    server.veth(client, "s0", "c0")
    server.add_address("s0", "10.61.1.1/24")
    return server, client


def ask(client_namespace, message: DhcpMessage) -> DhcpMessage | None:
    client = RawClient(client_namespace, "c0", message.chaddr)
    try:
        client.send(message)
        replies = client.replies(message.xid, timeout=5.0)
    finally:
        client.close()
    return replies[0][0] if replies else None



def test_dynamic_bootp_lease_is_stored_forever_and_kept_across_a_restart(site):
    server, client = site
    process = start_server(server, CONFIG, ["s0"])
    first = ask(client, DhcpMessage(xid=1, chaddr=mac(1)))
    assert first is not None and first.message_type is None, process.log()
    assert first.yiaddr == IPv4Address("10.61.1.20") and 51 not in first.options and 54 not in first.options
    process.stop()
    lease = stored_leases(server)[first.yiaddr]
    assert (lease.state, lease.expires, lease.mac) == (LeaseState.ACTIVE, math.inf, mac(1))
    process = start_server(server, CONFIG, ["s0"])
    # the log file is shared with the first run, whose ready line start_server has already seen
    assert poll(lambda: process.log().count(READY_LINE) == 2 or None, 20.0), process.log()
    assert ask(client, DhcpMessage(xid=2, chaddr=mac(2))).yiaddr == IPv4Address("10.61.1.21")
    assert ask(client, DhcpMessage(xid=3, chaddr=mac(1))).yiaddr == first.yiaddr
    assert ask(client, DhcpMessage(xid=4, chaddr=mac(3))) is None
    assert process.logged("BOOTREQUEST from 02:61:00:00:00:03 via s0: BOOTP from dynamic client and no dynamic leases")


def test_a_reverse_lookup_that_never_answers_still_gives_the_offer_without_a_name(site):
    server, client = site
    # A resolver on the link that nobody answers for, asked long enough to outlast the server's wait.
    files = Path("/etc/netns") / server.name
    files.mkdir(parents=True)
    try:
        (files / "hosts").write_text("127.0.0.1 localhost\n")
        (files / "resolv.conf").write_text("nameserver 10.61.1.99\noptions timeout:5 attempts:1\n")
        process = start_server(server, "get-lease-hostnames true;\n" + CONFIG, ["s0"])
        offer = ask(client, DhcpMessage(xid=5, chaddr=mac(4), options={53: bytes([MessageType.DISCOVER])}))
        assert offer is not None and offer.message_type is MessageType.OFFER, process.log()
        assert offer.yiaddr == IPv4Address("10.61.1.10") and 12 not in offer.options
        assert process.logged("No hostname for 10.61.1.10"), process.log()
    finally:
        shutil.rmtree(files)
