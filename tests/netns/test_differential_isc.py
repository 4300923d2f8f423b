"""Differential test: one dhcpd.conf served by isc-dhcpd and by this server, the same probes sent to each.

Each server runs alone in its own copy of the same topology (server namespace `s0` 10.60.1.1/24, a probe
namespace `c0` 10.60.1.2/24 that also holds the relay addresses 10.60.2.1 and 10.60.3.1). Every probe does
DISCOVER then REQUEST; the offers and acks must agree on message type, yiaddr, siaddr, file, sname and every
option. Probes cover fixed hosts by MAC and by client identifier, classes by vendor class and by MAC
prefix with pool permits, a relayed request with circuit-id inside an `if` block, a shared network reached
through its second subnet, and user-defined options 121 and 150 asked for in the parameter request list.
A second configuration turns `ping-check` on over a range whose first address the probe namespace holds:
both servers must abandon it, leave that DISCOVER unanswered, and offer the next address to the retry.

One documented difference: this server always sends T1 (58) and T2 (59), at the RFC 2131 4.4.5 values a
client would assume anyway (lease/2, lease*7/8); isc-dhcpd leaves them out unless configured. The test
checks those values and then compares without them.
"""

from __future__ import annotations

import re
import select
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from dhcpd.wire.codec import decode, encode
from dhcpd.wire.message import BROADCAST_FLAG, DhcpMessage, MessageType
from tests.harness.isc import start_isc_dhcpd
from tests.harness.namespace_sockets import open_inside
from tests.harness.pydhcpd import start_server
from tests.harness.rawclient import RawClient

pytestmark = [pytest.mark.netns, pytest.mark.slow]

CONFIG = """
authoritative;
default-lease-time 600;
max-lease-time 600;
ddns-update-style none;
ping-check false;
option classless-routes code 121 = array of unsigned integer 8;
option tftp-servers code 150 = array of ip-address;
option domain-name-servers 10.60.1.1;
option domain-name "example.test";
class "pxe" {
  match if substring(option vendor-class-identifier, 0, 9) = "PXEClient";
  next-server 10.60.1.5;
  filename "pxelinux.0";
  option tftp-servers 10.60.1.5, 10.60.1.6;
}
class "acme" {
  match if substring(hardware, 1, 3) = 00:11:22;
  option domain-name "acme.test";
}
shared-network office {
  option classless-routes 24, 192, 168, 5, 10, 60, 1, 1;
  subnet 10.60.1.0 netmask 255.255.255.0 {
    option routers 10.60.1.1;
    pool { range 10.60.1.10 10.60.1.19; allow members of "pxe"; }
    pool { range 10.60.1.20 10.60.1.29; allow members of "acme"; }
    pool { range 10.60.1.30 10.60.1.39; deny members of "pxe"; deny members of "acme"; }
  }
  subnet 10.60.3.0 netmask 255.255.255.0 {
    option routers 10.60.3.1;
  }
}
subnet 10.60.2.0 netmask 255.255.255.0 {
  option routers 10.60.2.1;
  range 10.60.2.10 10.60.2.19;
  if option agent.circuit-id = "port-7" {
    option domain-name "port7.test";
  }
}
host fixed-mac {
  hardware ethernet 02:60:00:00:00:50;
  fixed-address 10.60.1.50;
  option host-name "fixed-mac";
}
host fixed-cid {
  option dhcp-client-identifier "cid-51";
  fixed-address 10.60.1.51;
}
"""
SERVER_IP = IPv4Address("10.60.1.1")
RENEWAL, REBINDING, LEASE_TIME = 58, 59, 51
ASKED = bytes([1, 3, 6, 12, 15, 121, 150])


@dataclass(frozen=True)
class Probe:
    name: str
    mac: str
    options: dict[int, bytes] = field(default_factory=dict)
    giaddr: IPv4Address | None = None


def agent(circuit: bytes, remote: bytes) -> bytes:
    return bytes([1, len(circuit)]) + circuit + bytes([2, len(remote)]) + remote


PROBES = [
    Probe("fixed host by MAC", "02:60:00:00:00:50"),
    Probe("fixed host by client id", "02:60:00:00:00:99", {61: b"cid-51"}),
    Probe("class by vendor class", "02:60:00:00:00:01", {60: b"PXEClient:Arch:00000:UNDI:002001"}),
    Probe("class by MAC prefix", "00:11:22:00:00:01"),
    Probe("no class", "02:60:00:00:00:02"),
    Probe("relayed, circuit-id in an if block", "02:60:00:00:00:03", {82: agent(b"port-7", b"r1")},
          IPv4Address("10.60.2.1")),
    Probe("relayed, other circuit-id", "02:60:00:00:00:04", {82: agent(b"port-8", b"r1")}, IPv4Address("10.60.2.1")),
    Probe("shared network through its second subnet", "02:60:00:00:00:05", giaddr=IPv4Address("10.60.3.1")),
]


def site(netns, prefix: str = "tisc"):
    server, prober = netns(prefix), netns(prefix)
    server.veth(prober, "s0", "c0")
    server.add_address("s0", "10.60.1.1/24")
    for cidr in ("10.60.1.2/24", "10.60.2.1/24", "10.60.3.1/24"):
        prober.add_address("c0", cidr)
    for network in ("10.60.2.0/24", "10.60.3.0/24"):
        server.run(["ip", "route", "add", network, "via", "10.60.1.2"])
    return server, prober


def relay_socket(prober) -> socket.socket:
    def opener() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("", 67))
        return sock

    return open_inside(prober, opener)


class Prober:
    """Sends a probe's DISCOVER and REQUEST, directly (raw, broadcast flag) or as a relay (UDP from port 67)."""

    def __init__(self, prober_namespace) -> None:
        self.namespace = prober_namespace
        self.relay = relay_socket(prober_namespace)
        self.xid = 0x6000

    def close(self) -> None:
        self.relay.close()

    def exchange(self, probe: Probe, kind: MessageType, extra: dict[int, bytes]) -> DhcpMessage | None:
        return self.send(probe, {53: bytes([kind]), **extra, 55: ASKED, **probe.options})

    def bootp(self, probe: Probe) -> DhcpMessage | None:
        """A BOOTREQUEST: no option 53, only the probe's own options after the magic cookie."""
        return self.send(probe, probe.options)

    def send(self, probe: Probe, options: dict[int, bytes]) -> DhcpMessage | None:
        self.xid += 1
        chaddr = bytes.fromhex(probe.mac.replace(":", ""))
        message = DhcpMessage(xid=self.xid, chaddr=chaddr, options=options, flags=BROADCAST_FLAG,
                              giaddr=probe.giaddr or IPv4Address(0))
        if probe.giaddr is not None:
            return self._relayed(message)
        client = RawClient(self.namespace, "c0", chaddr)
        try:
            client.send(message)
            replies = client.replies(self.xid)
        finally:
            client.close()
        return replies[0][0] if replies else None

    def _relayed(self, message: DhcpMessage) -> DhcpMessage | None:
        self.relay.sendto(encode(message), (str(SERVER_IP), 67))
        while select.select([self.relay], [], [], 3.0)[0]:
            reply = decode(self.relay.recv(4096))
            if reply.xid == message.xid:
                return reply
        return None


def summary(reply: DhcpMessage | None) -> dict | None:
    if reply is None:
        return None
    return {"type": reply.message_type, "yiaddr": reply.yiaddr, "siaddr": reply.siaddr,
            "file": reply.file.rstrip(b"\0"), "sname": reply.sname.rstrip(b"\0"), "options": dict(reply.options)}


def without_default_timers(ours: dict | None, theirs: dict | None) -> dict | None:
    """Our summary minus T1/T2 where isc sent none, after checking they hold the RFC 2131 default values."""
    if ours is None or theirs is None or RENEWAL in theirs["options"]:
        return ours
    options = dict(ours["options"])
    lease = int.from_bytes(options[LEASE_TIME], "big")
    assert int.from_bytes(options.pop(RENEWAL), "big") == lease // 2
    assert int.from_bytes(options.pop(REBINDING), "big") == lease * 7 // 8
    return {**ours, "options": options}


def run_probes(prober_namespace, probes: list[Probe]) -> dict[str, dict]:
    prober = Prober(prober_namespace)
    results = {}
    try:
        for probe in probes:
            offer = prober.exchange(probe, MessageType.DISCOVER, {})
            ack = None
            if offer is not None:
                ack = prober.exchange(probe, MessageType.REQUEST, {50: offer.yiaddr.packed, 54: SERVER_IP.packed})
            results[probe.name] = {"offer": summary(offer), "ack": summary(ack)}
    finally:
        prober.close()
    return results


def test_same_answers_as_isc_dhcpd(netns):
    isc_server, isc_prober = site(netns)
    isc = start_isc_dhcpd(isc_server, CONFIG, ["s0"])
    expected = run_probes(isc_prober, PROBES)
    isc.stop()
    ours_server, ours_prober = site(netns)
    ours = start_server(ours_server, CONFIG, ["s0"])
    got = run_probes(ours_prober, PROBES)
    assert all(result["ack"] is not None for result in expected.values()), (expected, isc.log())
    for probe in PROBES:
        for step in ("offer", "ack"):
            theirs = expected[probe.name][step]
            assert without_default_timers(got[probe.name][step], theirs) == theirs, (probe.name, step, ours.log())


EXPRESSION_CONFIG = """
authoritative;
default-lease-time 600;
max-lease-time 600;
ddns-update-style none;
ping-check false;
class "allocation" {
  match pick-first-value(option dhcp-client-identifier, hardware);
}
subclass "allocation" "cid-9";
subclass "allocation" 1:02:60:00:00:00:21 { option domain-name "by-mac.test"; }
subnet 10.60.1.0 netmask 255.255.255.0 {
  option routers 10.60.1.1;
  option host-name = concat("h-", binary-to-ascii(16, 8, "-", substring(hardware, 4, 3)));
  pool { range 10.60.1.10 10.60.1.19; allow members of "allocation"; }
  pool { range 10.60.1.20 10.60.1.29; allow known-clients; deny members of "allocation"; }
  pool { range 10.60.1.30 10.60.1.39; allow unknown-clients; deny members of "allocation"; }
}
if option vendor-class-identifier ~~ "^android" {
  option domain-name "phone.test";
} elsif exists agent.remote-id and not known {
  option domain-name "remote.test";
} else {
  option domain-name "other.test";
}
subnet 10.60.2.0 netmask 255.255.255.0 {
  range 10.60.2.10 10.60.2.19;
}
host known-box { hardware ethernet 02:60:00:00:00:22; }
"""
EXPRESSION_PROBES = [
    Probe("subclass by client id", "02:60:00:00:00:20", {61: b"cid-9"}),
    Probe("subclass by MAC with its own option", "02:60:00:00:00:21"),
    Probe("known client without fixed address", "02:60:00:00:00:22"),
    Probe("unknown client, case-insensitive regex", "02:60:00:00:00:23", {60: b"ANDROID-dhcp-13"}),
    Probe("relayed with remote-id", "02:60:00:00:00:24", {82: agent(b"p1", b"rem")}, IPv4Address("10.60.2.1")),
]


def test_expressions_subclasses_and_known_clients_like_isc_dhcpd(netns):
    isc_server, isc_prober = site(netns)
    isc = start_isc_dhcpd(isc_server, EXPRESSION_CONFIG, ["s0"])
    expected = run_probes(isc_prober, EXPRESSION_PROBES)
    isc.stop()
    ours_server, ours_prober = site(netns)
    ours = start_server(ours_server, EXPRESSION_CONFIG, ["s0"])
    got = run_probes(ours_prober, EXPRESSION_PROBES)
    assert all(result["ack"] is not None for result in expected.values()), (expected, isc.log())
    domain_names = {name: result["ack"]["options"].get(15) for name, result in expected.items()}
    assert domain_names == {"subclass by client id": b"other.test", "subclass by MAC with its own option": b"by-mac.test",
                            "known client without fixed address": b"other.test",
                            "unknown client, case-insensitive regex": b"phone.test",
                            "relayed with remote-id": b"remote.test"}
    assert expected["subclass by client id"]["ack"]["options"][12] == b"h-0-0-20"
    for probe in EXPRESSION_PROBES:
        for step in ("offer", "ack"):
            theirs = expected[probe.name][step]
            assert without_default_timers(got[probe.name][step], theirs) == theirs, (probe.name, step, ours.log())


PING_CONFIG = """
authoritative;
ddns-update-style none;
ping-check true;
ping-timeout 1;
subnet 10.60.1.0 netmask 255.255.255.0 {
  range 10.60.1.2 10.60.1.9;
}
"""


def test_ping_check_skips_an_address_in_use_like_isc_dhcpd(netns):
    tries = [Probe("first try", "02:60:00:00:00:06"), Probe("retry", "02:60:00:00:00:06")]
    isc_server, isc_prober = site(netns)
    isc = start_isc_dhcpd(isc_server, PING_CONFIG, ["s0"])
    expected = run_probes(isc_prober, tries)
    isc.stop()
    ours_server, ours_prober = site(netns)
    ours = start_server(ours_server, PING_CONFIG, ["s0"])
    got = run_probes(ours_prober, tries)
    for log in (isc.log(), ours.log()):
        assert "Abandoning IP address 10.60.1.2: pinged before offer" in log
    assert expected["first try"]["offer"] is None and got["first try"]["offer"] is None
    isc_retry, our_retry = expected["retry"], got["retry"]
    assert isc_retry["offer"]["yiaddr"] == IPv4Address("10.60.1.3"), isc.log()
    for step in ("offer", "ack"):
        assert without_default_timers(our_retry[step], isc_retry[step]) == isc_retry[step], ours.log()


BOOTP_CONFIG = """
ddns-update-style none;
ping-check false;
option domain-name-servers 10.60.1.1;
option domain-name "example.test";
subnet 10.60.1.0 netmask 255.255.255.0 {
  option routers 10.60.1.1;
  next-server 10.60.1.5;
  filename "boot.img";
  server-name "bootsrv";
  range 10.60.1.10 10.60.1.19;
  range dynamic-bootp 10.60.1.20 10.60.1.29;
}
subnet 10.60.2.0 netmask 255.255.255.0 {
  option routers 10.60.2.1;
  dynamic-bootp-lease-length 3600;
  pool { range 10.60.2.10 10.60.2.19; allow dynamic bootp clients; }
}
subnet 10.60.3.0 netmask 255.255.255.0 {
  range 10.60.3.10 10.60.3.19;
}
host bootp-fixed {
  hardware ethernet 02:60:00:00:00:60;
  fixed-address 10.60.1.60;
  option host-name "bootp-fixed";
}
"""
BOOTP_PROBES = [
    Probe("BOOTP fixed host", "02:60:00:00:00:60"),
    Probe("BOOTP fixed host with a parameter request list", "02:60:00:00:00:60", {55: bytes([1, 12, 3])}),
    Probe("BOOTP client from the dynamic-bootp range", "02:60:00:00:00:61"),
    Probe("the same BOOTP client again", "02:60:00:00:00:61"),
    Probe("BOOTP relayed to a pool allowing dynamic bootp clients", "02:60:00:00:00:62",
          giaddr=IPv4Address("10.60.2.1")),
    Probe("BOOTP relayed to a subnet without dynamic-bootp range", "02:60:00:00:00:63",
          giaddr=IPv4Address("10.60.3.1")),
]
DHCP_BESIDE_BOOTP = [Probe("DHCP client beside a dynamic-bootp range", "02:60:00:00:00:64")]


def run_bootp_probes(prober_namespace, probes: list[Probe]) -> dict[str, dict | None]:
    prober = Prober(prober_namespace)
    try:
        return {probe.name: summary(prober.bootp(probe)) for probe in probes}
    finally:
        prober.close()


def bootp_log_lines(log: str) -> list[str]:
    """The BOOTREQUEST / BOOTREPLY lines of a server log, without our timestamps."""
    return re.findall(r"(BOOT(?:REQUEST|REPLY) .*)$", log, re.MULTILINE)


def test_bootp_fixed_host_and_dynamic_bootp_like_isc_dhcpd(netns):
    isc_server, isc_prober = site(netns, "tbp")
    isc = start_isc_dhcpd(isc_server, BOOTP_CONFIG, ["s0"])
    expected = run_bootp_probes(isc_prober, BOOTP_PROBES)
    expected_dhcp = run_probes(isc_prober, DHCP_BESIDE_BOOTP)
    isc.stop()
    ours_server, ours_prober = site(netns, "tbp")
    ours = start_server(ours_server, BOOTP_CONFIG, ["s0"])
    got = run_bootp_probes(ours_prober, BOOTP_PROBES)
    got_dhcp = run_probes(ours_prober, DHCP_BESIDE_BOOTP)
    assert expected["BOOTP client from the dynamic-bootp range"]["yiaddr"] == IPv4Address("10.60.1.20"), isc.log()
    assert expected["BOOTP relayed to a subnet without dynamic-bootp range"] is None
    assert got == expected, ours.log()
    for step in ("offer", "ack"):
        theirs = expected_dhcp[DHCP_BESIDE_BOOTP[0].name][step]
        assert theirs["yiaddr"] == IPv4Address("10.60.1.10")
        assert without_default_timers(got_dhcp[DHCP_BESIDE_BOOTP[0].name][step], theirs) == theirs, ours.log()
    assert bootp_log_lines(ours.log()) == bootp_log_lines(isc.log())


def test_deny_bootp_like_isc_dhcpd(netns):
    config = "deny bootp;\n" + BOOTP_CONFIG
    probes = BOOTP_PROBES[:1] + BOOTP_PROBES[2:3]
    isc_server, isc_prober = site(netns, "tbp")
    isc = start_isc_dhcpd(isc_server, config, ["s0"])
    expected = run_bootp_probes(isc_prober, probes)
    isc.stop()
    ours_server, ours_prober = site(netns, "tbp")
    ours = start_server(ours_server, config, ["s0"])
    got = run_bootp_probes(ours_prober, probes)
    assert expected == got == {probe.name: None for probe in probes}
    assert bootp_log_lines(ours.log()) == bootp_log_lines(isc.log()) == [
        "BOOTREQUEST from 02:60:00:00:00:60 via s0: bootp disallowed",
        "BOOTREQUEST from 02:60:00:00:00:61 via s0: bootp disallowed",
    ]


HOSTNAME_CONFIG = """
authoritative;
default-lease-time 600;
max-lease-time 600;
ddns-update-style none;
ping-check false;
get-lease-hostnames true;
subnet 10.60.1.0 netmask 255.255.255.0 {
  range 10.60.1.10 10.60.1.12;
  range dynamic-bootp 10.60.1.20 10.60.1.29;
}
host fixed-by-dns { hardware ethernet 02:60:00:00:00:70; fixed-address 10.60.1.70; }
host declared-name { hardware ethernet 02:60:00:00:00:71; fixed-address 10.60.1.71; use-host-decl-names on; }
"""
# The server namespace's /etc/hosts (`ip netns exec` bind-mounts /etc/netns/NAME/hosts over it); a resolver
# on the namespace's own loopback, where nothing listens, makes every other lookup fail at once.
HOSTS = """127.0.0.1 localhost
10.60.1.10 alpha.example.test alpha
10.60.1.11 bravo.example.test
10.60.1.20 bootp-twenty.example.test
10.60.1.70 seventy.example.test
10.60.1.71 seventy-one.example.test
"""
RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
HOSTNAME_PROBES = [
    Probe("name asked for", "02:60:00:00:00:01", {55: bytes([1, 3, 12])}),
    Probe("name not in the parameter request list", "02:60:00:00:00:02", {55: bytes([1, 3])}),
    Probe("address without a name", "02:60:00:00:00:03"),
    Probe("fixed host named by DNS", "02:60:00:00:00:70"),
    Probe("use-host-decl-names wins", "02:60:00:00:00:71"),
]
BOOTP_HOSTNAME_PROBES = [Probe("dynamic BOOTP client", "02:60:00:00:00:06")]


@contextmanager
def namespace_files(namespace, files: dict[str, str]) -> Iterator[None]:
    """/etc/netns/<namespace>/<file>: what processes started with `ip netns exec` there see in /etc."""
    directory = Path("/etc/netns") / namespace.name
    directory.mkdir(parents=True)
    try:
        for name, text in files.items():
            (directory / name).write_text(text)
        yield
    finally:
        shutil.rmtree(directory)


def without_trailing_nul(summary_: dict | None) -> dict | None:
    """isc-dhcpd sends the looked-up name with the C string's NUL; RFC 2132 section 2 says NVT ASCII options
    should not carry one, and we send none."""
    if summary_ is None or 12 not in summary_["options"]:
        return summary_
    return {**summary_, "options": {**summary_["options"], 12: summary_["options"][12].rstrip(b"\0")}}


def hostname_answers(netns, start) -> tuple[dict, dict, str]:
    server, prober = site(netns, "tbp")
    with namespace_files(server, {"hosts": HOSTS, "resolv.conf": RESOLV_CONF}):
        process = start(server, HOSTNAME_CONFIG, ["s0"])
        answers = run_probes(prober, HOSTNAME_PROBES)
        bootp_answers = run_bootp_probes(prober, BOOTP_HOSTNAME_PROBES)
        process.stop()
    return answers, bootp_answers, process.log()


def test_get_lease_hostnames_like_isc_dhcpd(netns):
    expected, expected_bootp, isc_log = hostname_answers(netns, start_isc_dhcpd)
    got, got_bootp, our_log = hostname_answers(netns, start_server)
    names = {name: result["ack"]["options"].get(12) for name, result in expected.items()}
    assert names == {"name asked for": b"alpha.example.test\0", "name not in the parameter request list": None,
                     "address without a name": None, "fixed host named by DNS": b"seventy.example.test\0",
                     "use-host-decl-names wins": b"declared-name"}, isc_log
    for probe in HOSTNAME_PROBES:
        for step in ("offer", "ack"):
            theirs = without_trailing_nul(expected[probe.name][step])
            assert without_default_timers(got[probe.name][step], theirs) == theirs, (probe.name, step, our_log)
    theirs = without_trailing_nul(expected_bootp["dynamic BOOTP client"])
    assert theirs["options"][12] == b"bootp-twenty.example.test"
    assert got_bootp["dynamic BOOTP client"] == theirs, our_log
    for log in (isc_log, our_log):
        assert log.count("No hostname for 10.60.1.12") == 2, log
