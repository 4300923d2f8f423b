"""RFC 2131 behaviour of the sans-I/O engine: every case a real client or relay exercises."""

from __future__ import annotations

import dataclasses
import struct
from ipaddress import IPv4Address, IPv4Interface

import pytest

from dhcpd.config.parser import parse_text
from dhcpd.engine.engine import Engine
from dhcpd.engine.types import DestinationKind, Ingress
from dhcpd.leases.record import Lease, LeaseState
from dhcpd.wire.codec import encode
from dhcpd.wire.message import BROADCAST_FLAG, DhcpMessage, MessageType

pytestmark = pytest.mark.unit

CONFIG = """
authoritative;
default-lease-time 600;
max-lease-time 7200;
option domain-name-servers 10.77.1.1;
subnet 10.77.1.0 netmask 255.255.255.0 {
  range 10.77.1.100 10.77.1.102;
  option routers 10.77.1.1;
}
subnet 10.77.2.0 netmask 255.255.255.0 {
  range 10.77.2.100 10.77.2.199;
  option routers 10.77.2.1;
  default-lease-time 300;
}
subnet 10.99.0.0 netmask 255.255.0.0 {
  range 10.99.1.0 10.99.1.255;
}
host printer {
  hardware ethernet 02:00:00:00:00:99;
  fixed-address 10.77.1.50;
}
"""
NOW = 1_000_000.0
S1 = Ingress("s1", 11, (IPv4Interface("10.77.1.1/24"),))
S2 = Ingress("s2", 12, (IPv4Interface("10.77.2.1/24"),))
SERVER_1 = IPv4Address("10.77.1.1")


def mac(n: int) -> bytes:
    return bytes([2, 0, 0, 0, 0, n])


def message(kind: MessageType, client: int, *, xid: int = 7, **fields) -> DhcpMessage:
    options = {53: bytes([kind])}
    options.update(fields.pop("options", {}))
    return DhcpMessage(xid=xid, chaddr=mac(client), options=options, **fields)


@pytest.fixture
def engine() -> Engine:
    return Engine(parse_text(CONFIG, "test.conf"))


def dora(engine: Engine, client: int, ingress: Ingress = S1, now: float = NOW, **extra) -> IPv4Address:
    offer = engine.handle(message(MessageType.DISCOVER, client, **extra), ingress, now)
    address = offer.reply.yiaddr
    server = offer.reply.options[54]
    options = {**extra.get("options", {}), 50: address.packed, 54: server}
    ack = engine.handle(message(MessageType.REQUEST, client, options=options), ingress, now)
    assert ack.reply.message_type is MessageType.ACK and ack.reply.yiaddr == address
    return address


def test_discover_offers_from_the_link_subnet_with_options(engine):
    decision = engine.handle(message(MessageType.DISCOVER, 1, options={55: bytes([1, 3, 6, 51])}), S1, NOW)
    reply = decision.reply
    assert reply.message_type is MessageType.OFFER
    assert reply.yiaddr == IPv4Address("10.77.1.100")
    assert reply.options[54] == SERVER_1.packed
    assert reply.options[1] == IPv4Address("255.255.255.0").packed
    assert reply.options[3] == SERVER_1.packed
    assert reply.options[6] == SERVER_1.packed
    assert struct.unpack("!I", reply.options[51])[0] == 600
    assert struct.unpack("!I", reply.options[58])[0] == 300
    assert struct.unpack("!I", reply.options[59])[0] == 525
    assert decision.persist == []
    assert decision.log == ["DHCPDISCOVER from 02:00:00:00:00:01 via s1",
                            "DHCPOFFER on 10.77.1.100 to 02:00:00:00:00:01 via s1"]
    assert decision.destination.kind is DestinationKind.UNICAST_CHADDR
    assert decision.destination.mac == mac(1)


def test_offer_holds_the_address_for_its_client(engine):
    first = engine.handle(message(MessageType.DISCOVER, 1), S1, NOW).reply.yiaddr
    second = engine.handle(message(MessageType.DISCOVER, 2), S1, NOW).reply.yiaddr
    again = engine.handle(message(MessageType.DISCOVER, 1), S1, NOW + 1).reply.yiaddr
    assert first != second and again == first


def test_expired_offer_is_given_to_another_client(engine):
    held = [engine.handle(message(MessageType.DISCOVER, n), S1, NOW).reply.yiaddr for n in (1, 2, 3)]
    assert engine.handle(message(MessageType.DISCOVER, 4), S1, NOW).reply is None
    later = engine.handle(message(MessageType.DISCOVER, 4), S1, NOW + engine.offer_hold + 1).reply.yiaddr
    assert later in held


def test_select_request_acks_and_persists_with_link_details(engine):
    address = dora(engine, 1, S2)
    lease = engine.leases.get(address)
    assert lease.state is LeaseState.ACTIVE and lease.interface == "s2" and lease.ifindex == 12
    assert lease.expires == NOW + 300
    assert lease.subnet == "10.77.2.0/24"


def test_leases_seen_on_one_link_share_one_lease_link(engine):
    first, second, elsewhere = (engine.leases.get(dora(engine, client, ingress))
                                for client, ingress in ((1, S2), (2, S2), (3, S1)))
    assert first.link is second.link and first.link is not elsewhere.link
    assert (elsewhere.subnet, elsewhere.interface, elsewhere.ifindex) == ("10.77.1.0/24", "s1", 11)


def test_ack_is_persisted_before_sending(engine):
    offer = engine.handle(message(MessageType.DISCOVER, 1), S1, NOW)
    ack = engine.handle(message(MessageType.REQUEST, 1, options={50: offer.reply.yiaddr.packed, 54: SERVER_1.packed}), S1, NOW)
    assert [lease.ip for lease in ack.persist] == [offer.reply.yiaddr]
    assert ack.log[-1] == f"DHCPACK on {offer.reply.yiaddr} to 02:00:00:00:00:01 via s1"


def test_requested_lease_time_is_clamped_to_max(engine):
    offer = engine.handle(message(MessageType.DISCOVER, 1, options={51: struct.pack("!I", 10**6)}), S1, NOW)
    assert struct.unpack("!I", offer.reply.options[51])[0] == 7200


def test_returning_client_gets_its_previous_address(engine):
    address = dora(engine, 1)
    later = NOW + 10_000  # the lease has expired meanwhile
    assert engine.handle(message(MessageType.DISCOVER, 1), S1, later).reply.yiaddr == address


def test_client_identifier_identifies_the_client_over_chaddr(engine):
    cid = {61: b"\x01customer-7"}
    address = dora(engine, 1, options=cid)
    other_nic = engine.handle(message(MessageType.DISCOVER, 5, options=cid), S1, NOW).reply.yiaddr
    assert other_nic == address


def test_requested_address_is_honoured_when_free(engine):
    wanted = IPv4Address("10.77.1.102")
    offer = engine.handle(message(MessageType.DISCOVER, 1, options={50: wanted.packed}), S1, NOW)
    assert offer.reply.yiaddr == wanted


def test_requested_address_of_another_client_is_not_given(engine):
    taken = dora(engine, 1)
    offer = engine.handle(message(MessageType.DISCOVER, 2, options={50: taken.packed}), S1, NOW)
    assert offer.reply.yiaddr != taken


def test_reserved_host_gets_its_fixed_address_and_nobody_else_does(engine):
    offer = engine.handle(message(MessageType.DISCOVER, 0x99), S1, NOW)
    assert offer.reply.yiaddr == IPv4Address("10.77.1.50")
    ack = engine.handle(message(MessageType.REQUEST, 0x99, options={50: offer.reply.yiaddr.packed, 54: SERVER_1.packed}), S1, NOW)
    assert ack.reply.message_type is MessageType.ACK
    stranger = engine.handle(message(MessageType.REQUEST, 3, options={50: IPv4Address("10.77.1.50").packed}), S1, NOW)
    assert stranger.reply.message_type is MessageType.NAK


def test_request_for_another_server_releases_our_offer_quietly(engine):
    offered = engine.handle(message(MessageType.DISCOVER, 1), S1, NOW).reply.yiaddr
    decision = engine.handle(message(MessageType.REQUEST, 1, options={50: offered.packed, 54: bytes([10, 77, 1, 254])}), S1, NOW)
    assert decision.reply is None and decision.drop_reason == "other-server"
    assert engine.leases.is_free(offered, NOW)


def test_init_reboot_with_wrong_network_gets_nak_broadcast(engine):
    decision = engine.handle(message(MessageType.REQUEST, 1, options={50: IPv4Address("192.168.5.5").packed}), S1, NOW)
    assert decision.reply.message_type is MessageType.NAK
    assert decision.destination.kind is DestinationKind.BROADCAST
    assert decision.log[-1] == "DHCPNAK on 192.168.5.5 to 02:00:00:00:00:01 via s1"


def test_init_reboot_for_known_lease_is_acked(engine):
    address = dora(engine, 1)
    decision = engine.handle(message(MessageType.REQUEST, 1, options={50: address.packed}), S1, NOW + 100)
    assert decision.reply.message_type is MessageType.ACK and decision.persist[0].expires == NOW + 700


def test_init_reboot_for_unknown_client_is_silent(engine):
    decision = engine.handle(message(MessageType.REQUEST, 1, options={50: IPv4Address("10.77.1.101").packed}), S1, NOW)
    assert decision.reply is None and decision.drop_reason == "unknown-lease"


def test_init_reboot_for_address_of_another_client_is_nakked(engine):
    address = dora(engine, 1)
    decision = engine.handle(message(MessageType.REQUEST, 2, options={50: address.packed}), S1, NOW)
    assert decision.reply.message_type is MessageType.NAK


def test_not_authoritative_stays_silent_instead_of_nak():
    engine = Engine(parse_text(CONFIG.replace("authoritative;", ""), "t.conf"))
    decision = engine.handle(message(MessageType.REQUEST, 1, options={50: IPv4Address("192.168.5.5").packed}), S1, NOW)
    assert decision.reply is None and decision.drop_reason == "not-authoritative"


def test_renewing_is_unicast_to_ciaddr_and_extends(engine):
    address = dora(engine, 1)
    decision = engine.handle(message(MessageType.REQUEST, 1, ciaddr=address), S1, NOW + 300)
    assert decision.reply.message_type is MessageType.ACK
    assert decision.reply.ciaddr == address
    assert decision.destination.kind is DestinationKind.UNICAST_CIADDR and decision.destination.ip == address
    assert decision.persist[0].expires == NOW + 900


def test_release_frees_the_address(engine):
    address = dora(engine, 1)
    decision = engine.handle(message(MessageType.RELEASE, 1, ciaddr=address, options={54: SERVER_1.packed}), S1, NOW)
    assert decision.reply is None and decision.persist[0].state is LeaseState.RELEASED
    assert decision.log == [f"DHCPRELEASE of {address} from 02:00:00:00:00:01 via s1 (found)"]
    assert engine.leases.is_free(address, NOW)


def test_release_by_another_client_changes_nothing(engine):
    address = dora(engine, 1)
    decision = engine.handle(message(MessageType.RELEASE, 2, ciaddr=address), S1, NOW)
    assert decision.persist == [] and not engine.leases.is_free(address, NOW)


def test_decline_keeps_the_address_out_of_use_for_probation(engine):
    address = dora(engine, 1)
    decision = engine.handle(message(MessageType.DECLINE, 1, options={50: address.packed, 54: SERVER_1.packed}), S1, NOW)
    assert decision.persist[0].state is LeaseState.DECLINED
    offered = {engine.handle(message(MessageType.DISCOVER, n), S1, NOW + 1).reply.yiaddr for n in (1, 2)}
    assert address not in offered
    assert engine.leases.is_free(address, NOW + engine.decline_probation + 1)


def test_inform_acks_options_without_lease(engine):
    decision = engine.handle(message(MessageType.INFORM, 1, ciaddr=IPv4Address("10.77.1.20")), S1, NOW)
    reply = decision.reply
    assert reply.message_type is MessageType.ACK and reply.yiaddr == IPv4Address(0)
    assert 51 not in reply.options and reply.options[3] == SERVER_1.packed
    assert decision.destination.kind is DestinationKind.UNICAST_CIADDR and decision.persist == []


def test_broadcast_flag_means_broadcast_reply(engine):
    decision = engine.handle(message(MessageType.DISCOVER, 1, flags=BROADCAST_FLAG), S1, NOW)
    assert decision.destination.kind is DestinationKind.BROADCAST


def test_relayed_request_uses_giaddr_subnet_and_echoes_option_82(engine):
    agent = bytes([1, 3]) + b"sw1" + bytes([2, 2]) + b"p7"
    relay = IPv4Address("10.99.0.2")
    ingress = Ingress("s0", 10, (IPv4Interface("10.99.0.1/16"),))
    decision = engine.handle(message(MessageType.DISCOVER, 1, giaddr=relay, options={82: agent}), ingress, NOW)
    reply = decision.reply
    assert reply.yiaddr in IPv4Interface("10.99.0.0/16").network
    assert list(reply.options)[-1] == 82 and reply.options[82] == agent
    assert decision.destination.kind is DestinationKind.RELAY and decision.destination.ip == relay
    assert decision.destination.port == 67
    ack = engine.handle(message(MessageType.REQUEST, 1, giaddr=relay, options={82: agent, 50: reply.yiaddr.packed,
                                                                            54: reply.options[54]}), ingress, NOW)
    lease = ack.persist[0]
    assert lease.relay == relay and lease.circuit_id == b"sw1" and lease.remote_id == b"p7"
    assert ack.log[0].endswith("via 10.99.0.2")


def test_replies_encode_as_their_options_encoded_whole(engine):
    """A reply carries its shared options already encoded; the options its own steps add (here option 82) follow."""
    agent = bytes([1, 3]) + b"sw1"
    relayed = message(MessageType.DISCOVER, 1, giaddr=IPv4Address("10.99.0.2"), options={55: bytes([3, 6]), 82: agent})
    for decision in (engine.handle(relayed, S1, NOW), engine.handle(message(MessageType.DISCOVER, 2), S1, NOW)):
        reply = decision.reply
        assert reply.encoded_options is not None
        assert encode(reply) == encode(dataclasses.replace(reply, encoded_options=None))


def test_link_selection_and_subnet_selection_win_over_giaddr(engine):
    link_selection = bytes([5, 4]) + IPv4Address("10.77.2.0").packed
    by_82 = engine.handle(message(MessageType.DISCOVER, 1, giaddr=IPv4Address("10.99.0.2"), options={82: link_selection}), S1, NOW)
    assert by_82.reply.yiaddr in IPv4Interface("10.77.2.0/24").network
    by_118 = engine.handle(message(MessageType.DISCOVER, 2, giaddr=IPv4Address("10.99.0.2"),
                                   options={118: IPv4Address("10.77.2.0").packed}), S1, NOW)
    assert by_118.reply.yiaddr in IPv4Interface("10.77.2.0/24").network


def test_unknown_network_is_dropped_with_reason(engine):
    ingress = Ingress("x9", 99, (IPv4Interface("192.168.9.1/24"),))
    decision = engine.handle(message(MessageType.DISCOVER, 1), ingress, NOW)
    assert decision.reply is None and decision.drop_reason == "unknown-network"


def test_exhausted_pool_reports_no_free_leases(engine):
    for n in (1, 2, 3):
        dora(engine, n)
    decision = engine.handle(message(MessageType.DISCOVER, 4), S1, NOW)
    assert decision.reply is None and decision.drop_reason == "no-free-leases"
    assert decision.log[-1] == "DHCPDISCOVER from 02:00:00:00:00:04 via s1: network 10.77.1.0/24: no free leases"


def test_leases_survive_reconfigure(engine):
    address = dora(engine, 1)
    engine.reconfigure(parse_text(CONFIG, "test.conf"))
    assert engine.leases.get(address).state is LeaseState.ACTIVE


def test_loaded_leases_are_respected():
    taken = Lease(IPv4Address("10.77.1.100"), LeaseState.ACTIVE, NOW, NOW + 600, mac=mac(7))
    engine = Engine(parse_text(CONFIG, "t.conf"), [taken])
    assert engine.handle(message(MessageType.DISCOVER, 1), S1, NOW).reply.yiaddr != taken.ip
    assert engine.handle(message(MessageType.DISCOVER, 7), S1, NOW).reply.yiaddr == taken.ip


def test_bootp_without_dynamic_bootp_range_and_replies_are_dropped(engine):
    bootp = DhcpMessage(chaddr=mac(1))
    assert engine.handle(bootp, S1, NOW).drop_reason == "no-dynamic-bootp-leases"
    reply = DhcpMessage(op=2, chaddr=mac(1), options={53: bytes([MessageType.OFFER])})
    assert engine.handle(reply, S1, NOW).drop_reason == "not-dhcp-request"


def test_cursor_offset_starts_elsewhere_and_still_walks_the_whole_pool():
    engine = Engine(parse_text(CONFIG, "t.conf"), cursor_offset=0.5)
    offered = [engine.handle(message(MessageType.DISCOVER, n), S1, NOW).reply.yiaddr for n in (1, 2, 3)]
    assert offered == [IPv4Address("10.77.1.101"), IPv4Address("10.77.1.102"), IPv4Address("10.77.1.100")]


def test_index_follows_a_client_with_several_leases_as_they_come_and_go():
    from dhcpd.engine.lease_index import LeaseIndex

    config = parse_text(CONFIG, "t.conf")
    index = LeaseIndex([pool for subnet in config.subnets for pool in subnet.pools])
    first, second = IPv4Address("10.77.1.100"), IPv4Address("10.77.2.100")
    for address in (first, second):
        index.put(Lease(address, LeaseState.ACTIVE, NOW, NOW + 600, mac=mac(1)))
    assert {lease.ip for lease in index.client_leases(None, mac(1))} == {first, second}
    index.remove(first)
    assert [lease.ip for lease in index.client_leases(None, mac(1))] == [second]
    index.put(Lease(second, LeaseState.ACTIVE, NOW, NOW + 600, mac=mac(2)))
    assert index.client_leases(None, mac(1)) == [] and len(index.client_leases(None, mac(2))) == 1
