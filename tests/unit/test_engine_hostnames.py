"""`get-lease-hostnames` in the engine: `ResolveFirst` until the address's name is known, option 12 from the
answer, "No hostname for" when there is none, configured host names win, and the answer cache's lifetime."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

import pytest

from dhcpd.config.parser import parse_text
from dhcpd.engine.engine import Engine
from dhcpd.engine.reverse_names import REVERSE_NAME_TTL, ResolveFirst, ReverseNames
from dhcpd.engine.types import Ingress
from dhcpd.leases.record import LeaseState
from dhcpd.wire.message import DhcpMessage, MessageType

pytestmark = pytest.mark.unit

NOW = 1_000_000.0
LINK = Ingress("s1", 11, (IPv4Interface("10.5.1.1/24"),))
SERVER = IPv4Address("10.5.1.1")
CONFIG = """
authoritative;
get-lease-hostnames true;
subnet 10.5.1.0 netmask 255.255.255.0 {
  range 10.5.1.10 10.5.1.19;
  range dynamic-bootp 10.5.1.20 10.5.1.29;
}
host named { hardware ethernet 02:00:00:00:00:60; fixed-address 10.5.1.60; option host-name "configured"; }
host declared { hardware ethernet 02:00:00:00:00:61; fixed-address 10.5.1.61; use-host-decl-names on; }
"""


def mac(n: int) -> bytes:
    return bytes([2, 0, 0, 0, 0, n])


def discover(chaddr: bytes) -> DhcpMessage:
    return DhcpMessage(xid=1, chaddr=chaddr, options={53: bytes([MessageType.DISCOVER])})


def request(chaddr: bytes, address: IPv4Address) -> DhcpMessage:
    return DhcpMessage(xid=2, chaddr=chaddr, options={53: bytes([MessageType.REQUEST]), 50: address.packed,
                                                      54: SERVER.packed})


@pytest.fixture
def engine() -> Engine:
    return Engine(parse_text(CONFIG, "names.conf"))


def test_offer_waits_for_the_name_then_carries_it(engine):
    resolve = engine.handle(discover(mac(1)), LINK, NOW)
    assert isinstance(resolve, ResolveFirst) and resolve.reply is None and resolve.log == []
    assert resolve.address == IPv4Address("10.5.1.10")
    offer = engine.name_resolved(discover(mac(1)), LINK, resolve.address, "alpha.example.test", NOW)
    assert offer.reply.yiaddr == resolve.address and offer.reply.options[12] == b"alpha.example.test"
    ack = engine.handle(request(mac(1), resolve.address), LINK, NOW + 1)
    assert ack.reply.message_type is MessageType.ACK and ack.reply.options[12] == b"alpha.example.test"
    assert [lease.state for lease in ack.persist] == [LeaseState.ACTIVE]


def test_request_waiting_for_a_name_changes_no_lease(engine):
    address = IPv4Address("10.5.1.15")
    resolve = engine.handle(request(mac(2), address), LINK, NOW)
    assert isinstance(resolve, ResolveFirst) and resolve.address == address
    assert engine.leases.get(address) is None
    ack = engine.name_resolved(request(mac(2), address), LINK, address, None, NOW)
    assert ack.reply.yiaddr == address and 12 not in ack.reply.options
    assert ack.log[0] == f"No hostname for {address}" and ack.log[-1].startswith("DHCPACK on 10.5.1.15")


def test_the_name_is_left_out_when_the_parameter_request_list_does_not_ask_for_it(engine):
    asking = DhcpMessage(xid=1, chaddr=mac(5), options={53: bytes([MessageType.DISCOVER]), 55: bytes([1, 3])})
    address = engine.handle(asking, LINK, NOW).address
    assert 12 not in engine.name_resolved(asking, LINK, address, "echo.example.test", NOW).reply.options


@pytest.mark.parametrize("chaddr, name", [(mac(0x60), b"configured"), (mac(0x61), b"declared")])
def test_configured_host_names_need_no_lookup(engine, chaddr, name):
    offer = engine.handle(discover(chaddr), LINK, NOW)
    assert offer.reply.options[12] == name


def test_dynamic_bootp_reply_carries_the_name_and_the_address_is_held_meanwhile(engine):
    message = DhcpMessage(xid=3, chaddr=mac(3))
    resolve = engine.handle(message, LINK, NOW)
    assert isinstance(resolve, ResolveFirst) and resolve.address == IPv4Address("10.5.1.20")
    assert engine.leases.get(resolve.address).state is LeaseState.OFFERED
    assert isinstance(engine.handle(DhcpMessage(xid=4, chaddr=mac(4)), LINK, NOW), ResolveFirst)
    reply = engine.name_resolved(message, LINK, resolve.address, "boot.example.test", NOW)
    assert reply.reply.yiaddr == resolve.address and reply.reply.options[12] == b"boot.example.test"
    assert [lease.state for lease in reply.persist] == [LeaseState.ACTIVE]


def test_answers_are_kept_for_their_lifetime_only():
    names = ReverseNames()
    address = IPv4Address("10.5.1.10")
    names.learn(address, None, NOW)
    assert names.get(address, NOW + REVERSE_NAME_TTL).name is None
    assert names.get(address, NOW + REVERSE_NAME_TTL + 1) is None
