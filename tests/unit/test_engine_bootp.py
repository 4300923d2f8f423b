"""BOOTP in the engine as isc-dhcpd answers it: fixed hosts, `range dynamic-bootp`, pool permits, `deny bootp`,
lease length, reply contents (no DHCP options 53/54/51), destinations and log lines."""

from __future__ import annotations

import math
from ipaddress import IPv4Address, IPv4Interface

import pytest

from dhcpd.config.parser import parse_text
from dhcpd.engine.engine import Engine
from dhcpd.engine.types import DestinationKind, Ingress
from dhcpd.leases.record import LeaseState
from dhcpd.wire.message import BOOTREPLY, BROADCAST_FLAG, DhcpMessage, MessageType

pytestmark = pytest.mark.unit

NOW = 1_000_000.0
LINK = Ingress("s1", 11, (IPv4Interface("10.5.1.1/24"),))
FIXED_MAC = bytes.fromhex("020000000050")
CONFIG = """
authoritative;
option domain-name "boot.test";
subnet 10.5.1.0 netmask 255.255.255.0 {
  option routers 10.5.1.1;
  next-server 10.5.1.5;
  filename "boot.img";
  server-name "bootsrv";
  range 10.5.1.10 10.5.1.19;
  range dynamic-bootp 10.5.1.20 10.5.1.21;
}
subnet 10.5.2.0 netmask 255.255.255.0 {
  range 10.5.2.10 10.5.2.19;
}
host fixed { hardware ethernet 02:00:00:00:00:50; fixed-address 10.5.1.50; option host-name "fixed"; }
"""


def mac(n: int) -> bytes:
    return bytes([2, 0, 0, 0, 0, n])


def bootp(engine: Engine, chaddr: bytes, **fields):
    return engine.handle(DhcpMessage(xid=7, chaddr=chaddr, **fields), LINK, NOW)


def engine_for(text: str = CONFIG) -> Engine:
    return Engine(parse_text(text, "bootp.conf"))


def test_fixed_host_gets_a_bootreply_with_options_and_boot_parameters_but_no_dhcp_options():
    decision = bootp(engine_for(), FIXED_MAC, flags=BROADCAST_FLAG)
    reply = decision.reply
    assert reply.op == BOOTREPLY and reply.message_type is None and reply.xid == 7
    assert reply.yiaddr == IPv4Address("10.5.1.50")
    assert (reply.siaddr, reply.file, reply.sname) == (IPv4Address("10.5.1.5"), b"boot.img", b"bootsrv")
    assert reply.options == {1: bytes([255, 255, 255, 0]), 3: bytes([10, 5, 1, 1]), 12: b"fixed", 15: b"boot.test"}
    assert decision.persist == []
    assert decision.destination.kind is DestinationKind.BROADCAST
    assert decision.log == ["BOOTREQUEST from 02:00:00:00:00:50 via s1",
                            "BOOTREPLY for 10.5.1.50 to fixed (02:00:00:00:00:50) via s1"]


def test_parameter_request_list_limits_dynamic_bootp_options_but_not_a_fixed_hosts():
    engine = engine_for()
    assert list(bootp(engine, mac(1), options={55: bytes([3, 15])}).reply.options) == [1, 3, 15]
    assert set(bootp(engine, FIXED_MAC, options={55: bytes([3, 15])}).reply.options) == {1, 3, 12, 15}


def test_dynamic_client_gets_a_never_ending_lease_from_the_dynamic_bootp_range_only():
    engine = engine_for()
    decision = bootp(engine, mac(1))
    assert decision.reply.yiaddr == IPv4Address("10.5.1.20")
    assert decision.destination.kind is DestinationKind.UNICAST_CHADDR
    [lease] = decision.persist
    assert (lease.ip, lease.state, lease.expires, lease.mac) == (IPv4Address("10.5.1.20"), LeaseState.ACTIVE,
                                                                math.inf, mac(1))
    assert decision.log == ["BOOTREQUEST from 02:00:00:00:00:01 via s1",
                            "BOOTREPLY on 10.5.1.20 to 02:00:00:00:00:01 via s1"]
    assert bootp(engine, mac(1)).reply.yiaddr == IPv4Address("10.5.1.20")
    assert bootp(engine, mac(2)).reply.yiaddr == IPv4Address("10.5.1.21")
    exhausted = bootp(engine, mac(3))
    assert exhausted.reply is None and exhausted.drop_reason == "no-dynamic-bootp-leases"
    assert exhausted.log == [
        "BOOTREQUEST from 02:00:00:00:00:03 via s1: BOOTP from dynamic client and no dynamic leases"]


def test_dhcp_clients_still_get_the_plain_range_first_and_bootp_does_not_move_its_cursor():
    engine = engine_for()
    bootp(engine, mac(1))
    offer = engine.handle(DhcpMessage(xid=1, chaddr=mac(9), options={53: bytes([MessageType.DISCOVER])}), LINK, NOW)
    assert offer.reply.yiaddr == IPv4Address("10.5.1.10")


def test_a_subnet_without_dynamic_bootp_range_refuses_dynamic_bootp_clients():
    relayed = bootp(engine_for(), mac(1), giaddr=IPv4Address("10.5.2.1"))
    assert relayed.drop_reason == "no-dynamic-bootp-leases"


def test_pool_allowing_dynamic_bootp_clients_serves_them_and_refuses_dhcp_clients():
    engine = engine_for("""
dynamic-bootp-lease-length 3600;
subnet 10.5.1.0 netmask 255.255.255.0 { pool { range 10.5.1.10 10.5.1.19; allow dynamic bootp clients; } }
""")
    decision = bootp(engine, mac(1))
    assert decision.reply.yiaddr == IPv4Address("10.5.1.10") and decision.persist[0].expires == NOW + 3600
    dhcp = engine.handle(DhcpMessage(xid=1, chaddr=mac(2), options={53: bytes([MessageType.DISCOVER])}), LINK, NOW)
    assert dhcp.reply is None and dhcp.drop_reason == "no-free-leases"


def test_pool_denying_dynamic_bootp_clients_refuses_them():
    engine = engine_for("""
subnet 10.5.1.0 netmask 255.255.255.0 { pool { range 10.5.1.10 10.5.1.19; deny dynamic bootp clients; } }
""")
    assert bootp(engine, mac(1)).drop_reason == "no-dynamic-bootp-leases"


@pytest.mark.parametrize("refusal", ["deny bootp;", "ignore bootp;"])
def test_deny_bootp_refuses_fixed_and_dynamic_clients(refusal):
    engine = engine_for(refusal + CONFIG)
    for chaddr in (FIXED_MAC, mac(1)):
        decision = bootp(engine, chaddr)
        assert decision.reply is None and decision.drop_reason == "bootp-disallowed"
        assert decision.log == [f"BOOTREQUEST from {chaddr.hex(':')} via s1: bootp disallowed"]
    assert engine.leases.get(IPv4Address("10.5.1.20")) is None


def test_relayed_bootp_goes_back_to_the_relay():
    decision = bootp(engine_for(), FIXED_MAC, giaddr=IPv4Address("10.5.1.254"), hops=1)
    assert decision.destination.kind is DestinationKind.RELAY
    assert decision.destination.ip == IPv4Address("10.5.1.254")
    assert decision.log[0] == "BOOTREQUEST from 02:00:00:00:00:50 via 10.5.1.254"


def test_invalid_message_type_is_not_taken_for_bootp():
    decision = bootp(engine_for(), FIXED_MAC, options={53: b"\x63"})
    assert decision.reply is None and decision.drop_reason == "not-dhcp-request"
