"""isc-dhcpd semantics in the engine: classes, subclasses, spawning and lease limits, pool permits, `if`
blocks, `option NAME = EXPR`, scope precedence, and the parameters that change a reply."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv4Interface

import pytest

from dhcpd.config.parser import parse_text
from dhcpd.engine.engine import Engine
from dhcpd.engine.probe import ProbeFirst
from dhcpd.engine.types import Ingress
from dhcpd.leases.record import LeaseState
from dhcpd.wire.message import DhcpMessage, MessageType

pytestmark = pytest.mark.unit

NOW = 1_000_000.0
LINK = Ingress("s1", 11, (IPv4Interface("10.5.1.1/24"),))
SERVER = IPv4Address("10.5.1.1")
SUBNET_HEAD = "authoritative;\nsubnet 10.5.1.0 netmask 255.255.255.0 {\n"


def mac(n: int, prefix: bytes = b"\x02\x00\x00") -> bytes:
    return prefix + bytes([0, 0, n])


def discover(engine: Engine, chaddr: bytes, options: dict[int, bytes] | None = None, **fields):
    request = DhcpMessage(xid=1, chaddr=chaddr, options={53: bytes([MessageType.DISCOVER]), **(options or {})},
                          **fields)
    return engine.handle(request, LINK, NOW)


def request(engine: Engine, chaddr: bytes, address: IPv4Address, options: dict[int, bytes] | None = None,
            now: float = NOW, **fields):
    wanted = {53: bytes([MessageType.REQUEST]), 50: address.packed, 54: SERVER.packed, **(options or {})}
    return engine.handle(DhcpMessage(xid=2, chaddr=chaddr, options=wanted, **fields), LINK, now)


def dora(engine: Engine, chaddr: bytes, options: dict[int, bytes] | None = None, **fields) -> IPv4Address:
    offered = discover(engine, chaddr, options, **fields).reply.yiaddr
    ack = request(engine, chaddr, offered, options, **fields)
    assert ack.reply is not None and ack.reply.message_type is MessageType.ACK
    return offered


def engine_for(text: str) -> Engine:
    return Engine(parse_text(text, "isc.conf"))


def relayed(circuit: bytes) -> dict:
    return {"giaddr": IPv4Address("10.5.1.2"), "options": {82: bytes([1, len(circuit)]) + circuit}}


CLASSES = SUBNET_HEAD + """
  option routers 10.5.1.1;
  pool { range 10.5.1.10 10.5.1.19; allow members of "pxe"; }
  pool { range 10.5.1.20 10.5.1.29; allow members of "acme"; }
  pool { range 10.5.1.30 10.5.1.39; deny members of "pxe"; deny members of "acme"; }
}
class "pxe" {
  match if substring(option vendor-class-identifier, 0, 9) = "PXEClient";
  next-server 10.5.1.5;
  filename "pxelinux.0";
  server-name "boot";
}
class "acme" {
  match if substring(hardware, 1, 3) = 00:11:22;
  option domain-name "acme.example";
}
"""


def test_class_by_vendor_class_selects_its_pool_and_boot_parameters():
    reply = discover(engine_for(CLASSES), mac(1), {60: b"PXEClient:Arch:00000"}).reply
    assert IPv4Address("10.5.1.10") <= reply.yiaddr <= IPv4Address("10.5.1.19")
    assert reply.siaddr == IPv4Address("10.5.1.5") and reply.file == b"pxelinux.0" and reply.sname == b"boot"


def test_class_by_mac_prefix_selects_its_pool_and_options():
    reply = discover(engine_for(CLASSES), mac(1, b"\x00\x11\x22")).reply
    assert IPv4Address("10.5.1.20") <= reply.yiaddr <= IPv4Address("10.5.1.29")
    assert reply.options[15] == b"acme.example"


def test_client_of_no_class_gets_the_pool_that_denies_the_classes():
    reply = discover(engine_for(CLASSES), mac(1)).reply
    assert IPv4Address("10.5.1.30") <= reply.yiaddr <= IPv4Address("10.5.1.39")
    assert 15 not in reply.options and reply.file == b""


def test_request_for_an_address_of_a_pool_the_client_may_not_use_is_naked():
    ack = request(engine_for(CLASSES), mac(1), IPv4Address("10.5.1.10"))
    assert ack.reply.message_type is MessageType.NAK


SUBCLASSES = SUBNET_HEAD + """
  pool { range 10.5.1.10 10.5.1.19; allow members of "allocation"; }
  pool { range 10.5.1.30 10.5.1.39; deny members of "allocation"; }
}
class "allocation" {
  match pick-first-value(option dhcp-client-identifier, hardware);
  option domain-name "allocated";
}
subclass "allocation" 1:02:00:00:00:00:01;
subclass "allocation" "cid-7" { option domain-name "cid7"; }
"""


def test_subclass_by_hardware_is_a_member_of_its_class():
    reply = discover(engine_for(SUBCLASSES), mac(1)).reply
    assert IPv4Address("10.5.1.10") <= reply.yiaddr <= IPv4Address("10.5.1.19")
    assert reply.options[15] == b"allocated"


def test_subclass_by_client_id_overrides_its_class_options():
    reply = discover(engine_for(SUBCLASSES), mac(9), {61: b"cid-7"}).reply
    assert IPv4Address("10.5.1.10") <= reply.yiaddr <= IPv4Address("10.5.1.19")
    assert reply.options[15] == b"cid7"


def test_key_with_no_subclass_is_not_a_member():
    reply = discover(engine_for(SUBCLASSES), mac(9)).reply
    assert IPv4Address("10.5.1.30") <= reply.yiaddr <= IPv4Address("10.5.1.39")


SPAWNING = """
authoritative;
subnet 10.5.1.0 netmask 255.255.255.0 { range 10.5.1.10 10.5.1.99; }
class "per-port" {
  match if exists agent.circuit-id;
  spawn with option agent.circuit-id;
  lease limit 1;
}
"""


def test_lease_limit_counts_per_spawned_subclass():
    engine = engine_for(SPAWNING)
    dora(engine, mac(1), **relayed(b"port-1"))
    assert discover(engine, mac(2), **relayed(b"port-1")).drop_reason == "no-free-leases"
    assert discover(engine, mac(3), **relayed(b"port-2")).reply is not None


def test_lease_limit_still_lets_the_billed_client_renew():
    engine = engine_for(SPAWNING)
    address = dora(engine, mac(1), **relayed(b"port-1"))
    renewal = request(engine, mac(1), address, now=NOW + 100, **relayed(b"port-1"))
    assert renewal.reply.message_type is MessageType.ACK


def test_lease_limit_frees_up_when_the_billed_lease_is_released():
    engine = engine_for(SPAWNING)
    address = dora(engine, mac(1), **relayed(b"port-1"))
    release = DhcpMessage(xid=3, chaddr=mac(1), ciaddr=address, options={53: bytes([MessageType.RELEASE])})
    engine.handle(release, LINK, NOW)
    assert discover(engine, mac(2), **relayed(b"port-1")).reply is not None


KNOWN = """
authoritative;
subnet 10.5.1.0 netmask 255.255.255.0 {
  pool { range 10.5.1.10 10.5.1.19; allow known-clients; }
  pool { range 10.5.1.20 10.5.1.29; allow unknown-clients; }
}
host laptop { hardware ethernet 02:00:00:00:00:01; }
"""


@pytest.mark.parametrize(("client", "first", "last"), [(1, "10.5.1.10", "10.5.1.19"), (2, "10.5.1.20", "10.5.1.29")])
def test_known_and_unknown_clients_get_their_own_pools(client, first, last):
    reply = discover(engine_for(KNOWN), mac(client)).reply
    assert IPv4Address(first) <= reply.yiaddr <= IPv4Address(last)


def test_deny_unknown_clients_serves_only_declared_hosts():
    engine = engine_for(KNOWN.replace("authoritative;", "authoritative;\ndeny unknown-clients;"))
    assert discover(engine, mac(2)).drop_reason == "no-free-leases"
    assert discover(engine, mac(1)).reply is not None


CONDITIONALS = SUBNET_HEAD + """
  range 10.5.1.10 10.5.1.19;
  option domain-name "plain";
  if option vendor-class-identifier = "alpha" {
    option domain-name "is-alpha";
  } elsif option vendor-class-identifier ~~ "^BETA" {
    option domain-name "is-beta";
    if known { option domain-name "known-beta"; }
  } else {
    default-lease-time 900;
  }
}
host beta-box { hardware ethernet 02:00:00:00:00:07; }
"""


@pytest.mark.parametrize(("client", "vendor", "expected"), [
    (1, b"alpha", b"is-alpha"), (1, b"beta-2", b"is-beta"), (7, b"Beta", b"known-beta"), (1, b"gamma", b"plain"),
])
def test_if_elsif_else_picks_the_first_branch_that_holds(client, vendor, expected):
    reply = discover(engine_for(CONDITIONALS), mac(client), {60: vendor}).reply
    assert reply.options[15] == expected


def test_else_branch_sets_parameters():
    engine = engine_for(CONDITIONALS)
    assert struct.unpack("!I", discover(engine, mac(1), {60: b"gamma"}).reply.options[51])[0] == 900
    assert struct.unpack("!I", discover(engine, mac(1), {60: b"alpha"}).reply.options[51])[0] == 43200


EXPRESSIONS = SUBNET_HEAD + """
  range 10.5.1.10 10.5.1.19;
  option host-name = concat("h-", binary-to-ascii(16, 8, "-", substring(hardware, 1, 6)));
  option domain-name = pick-first-value(option agent.remote-id, suffix(option dhcp-client-identifier, 3), "none");
  option root-path = concat("port-", option agent.circuit-id);
  option merit-dump = encode-int(258, 16);
}
"""


def test_option_expressions_are_computed_per_request():
    engine = engine_for(EXPRESSIONS)
    reply = discover(engine, mac(10), {61: b"abcdef"}).reply
    assert reply.options[12] == b"h-2-0-0-0-0-a"
    assert reply.options[15] == b"def"
    assert reply.options[14] == b"\x01\x02"
    assert 17 not in reply.options  # concat with a missing option is null: not sent
    relayed_reply = discover(engine, mac(10), giaddr=IPv4Address("10.5.1.2"),
                             options={82: b"\x01\x02p1\x02\x03rid"}).reply
    assert relayed_reply.options[15] == b"rid" and relayed_reply.options[17] == b"port-p1"


PRECEDENCE = """
authoritative;
option domain-name "global";
group {
  option domain-name "group";
  shared-network wide {
    option domain-name "shared";
    subnet 10.5.1.0 netmask 255.255.255.0 {
      option domain-name "subnet";
      pool { range 10.5.1.10 10.5.1.19; option domain-name "pool"; }
    }
  }
}
class "tagged" { match if option vendor-class-identifier = "tag"; option domain-name "class"; }
host special { hardware ethernet 02:00:00:00:00:05; option domain-name "host"; }
"""


@pytest.mark.parametrize(("drop", "client", "vendor", "expected"), [
    ((), 5, b"tag", b"host"),
    (("host",), 5, b"tag", b"class"),
    (("host", "class"), 5, b"tag", b"pool"),
    (("host", "class", "pool"), 5, b"tag", b"subnet"),
    (("host", "class", "pool", "subnet"), 5, b"tag", b"shared"),
    (("host", "class", "pool", "subnet", "shared"), 5, b"tag", b"group"),
    (("host", "class", "pool", "subnet", "shared", "group"), 5, b"tag", b"global"),
])
def test_option_precedence_host_class_pool_subnet_shared_group_global(drop, client, vendor, expected):
    text = PRECEDENCE
    for level in drop:
        text = text.replace(f'option domain-name "{level}";', "")
    reply = discover(engine_for(text), mac(client), {60: vendor}).reply
    assert reply.options[15] == expected


def test_one_lease_per_client_releases_the_other_lease():
    text = SUBNET_HEAD + "  range 10.5.1.10 10.5.1.19;\n  one-lease-per-client true;\n}\n"
    engine = engine_for(text)
    first = dora(engine, mac(1))
    second = IPv4Address("10.5.1.15")
    ack = request(engine, mac(1), second)
    assert ack.reply.yiaddr == second
    assert [(lease.ip, lease.state) for lease in ack.persist] == [(second, LeaseState.ACTIVE),
                                                                  (first, LeaseState.RELEASED)]
    assert engine.leases.get(first).state is LeaseState.RELEASED


def test_without_one_lease_per_client_both_leases_stay():
    engine = engine_for(SUBNET_HEAD + "  range 10.5.1.10 10.5.1.19;\n}\n")
    first = dora(engine, mac(1))
    request(engine, mac(1), IPv4Address("10.5.1.15"))
    assert engine.leases.get(first).state is LeaseState.ACTIVE


def test_host_decl_name_and_server_identifier():
    text = ("authoritative;\nuse-host-decl-names on;\nserver-identifier 10.5.1.254;\n"
            "subnet 10.5.1.0 netmask 255.255.255.0 { range 10.5.1.10 10.5.1.19; }\n"
            "host printer-7 { hardware ethernet 02:00:00:00:00:07; fixed-address 10.5.1.7; }\n")
    reply = discover(engine_for(text), mac(7)).reply
    assert reply.yiaddr == IPv4Address("10.5.1.7")
    assert reply.options[12] == b"printer-7" and reply.options[54] == IPv4Address("10.5.1.254").packed


def test_not_authoritative_ignores_a_request_for_a_foreign_address():
    engine = engine_for("subnet 10.5.1.0 netmask 255.255.255.0 { range 10.5.1.10 10.5.1.19; }\n")
    decision = request(engine, mac(1), IPv4Address("10.9.9.9"))
    assert decision.reply is None and decision.drop_reason == "not-authoritative"


PING = SUBNET_HEAD + "  range 10.5.1.10 10.5.1.19;\n  ping-check true;\n  ping-timeout 2;\n}\n"


def test_ping_check_asks_to_probe_a_new_address_before_offering():
    decision = discover(engine_for(PING), mac(1))
    assert isinstance(decision, ProbeFirst) and decision.reply is None
    assert decision.address == IPv4Address("10.5.1.10") and decision.timeout == 2.0


def test_silent_probe_gives_the_offer_and_no_second_probe():
    engine = engine_for(PING)
    probe = discover(engine, mac(1))
    message = DhcpMessage(xid=1, chaddr=mac(1), options={53: bytes([MessageType.DISCOVER])})
    offer = engine.probe_result(message, LINK, probe.address, False, NOW)
    assert not isinstance(offer, ProbeFirst) and offer.reply.yiaddr == probe.address
    assert discover(engine, mac(1)).reply.yiaddr == probe.address


def test_answered_probe_abandons_the_address_without_reply_and_the_retry_gets_the_next():
    engine = engine_for(PING)
    probe = discover(engine, mac(1))
    message = DhcpMessage(xid=1, chaddr=mac(1), options={53: bytes([MessageType.DISCOVER])})
    abandoned = engine.probe_result(message, LINK, probe.address, True, NOW)
    assert abandoned.reply is None and abandoned.drop_reason == "pinged-before-offer"
    assert [(lease.ip, lease.state) for lease in abandoned.persist] == [(probe.address, LeaseState.ABANDONED)]
    assert abandoned.log == [f"Abandoning IP address {probe.address}: pinged before offer"]
    assert discover(engine, mac(1)).address == IPv4Address("10.5.1.11")
    assert discover(engine, mac(2)).address == IPv4Address("10.5.1.12")


def test_no_probe_without_ping_check_or_for_the_clients_own_address():
    assert not isinstance(discover(engine_for(PING.replace("true", "false")), mac(1)), ProbeFirst)
    engine = engine_for(PING)
    probe = discover(engine, mac(1))
    message = DhcpMessage(xid=1, chaddr=mac(1), options={53: bytes([MessageType.DISCOVER])})
    engine.probe_result(message, LINK, probe.address, False, NOW)
    request(engine, mac(1), probe.address)
    assert discover(engine, mac(1)).reply.yiaddr == probe.address
