"""The whole receive path as a fuzz target: frame bytes -> decode_frame -> decode -> Engine.handle -> encode.

`ReceivePath.feed(frame)` does what the server does with a received frame (without sockets or a database)
and checks that whatever would be sent is valid: it encodes within the client's size limit and decodes
back (a reply is refused only when the relay's option 82, which is echoed whole, leaves no room), has op 2,
the request's xid and chaddr, a reply type that answers the request's type, our server id,
and a yiaddr inside a declared subnet (0 for a NAK or an INFORM answer). An ACK of a dynamic address
must come with its lease to commit (else a crash would lose it), and must not hand out an address whose
lease is active for another client (a duplicate). Malformed input must raise only BadFrame or
MalformedPacket, which the server counts. A broken rule raises InvalidReply; any other exception is a
crash. Used by the hypothesis tests (tests/unit/test_fuzz_receive_path.py) and, run as a module, by the
long atheris run (scripts/fuzz).
"""

from __future__ import annotations

import functools
import sys
from collections import Counter
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from dhcpd.config.model import Config
from dhcpd.config.parser import parse_text
from dhcpd.engine.engine import Engine
from dhcpd.engine.types import Decision, Ingress
from dhcpd.leases.record import Lease, LeaseState
from dhcpd.server import reply_payload
from dhcpd.wire.codec import OPTIONS_OFFSET, MalformedPacket, decode, encode, reply_size_limit
from dhcpd.wire.frame import BadFrame, build_frame, decode_frame
from dhcpd.wire.message import BOOTREPLY, ZERO, DhcpMessage, MessageType

CONFIG = """
authoritative;
default-lease-time 600;
max-lease-time 7200;
option domain-name "fuzz.test";
option domain-name-servers 10.9.0.1;
class "voip" { match if substring(option vendor-class-identifier, 0, 4) = "voip"; }
subnet 10.9.0.0 netmask 255.255.255.0 {
  range 10.9.0.100 10.9.0.109;
  option routers 10.9.0.1;
}
subnet 10.9.1.0 netmask 255.255.255.0 {
  pool { range 10.9.1.10 10.9.1.19; allow members of "voip"; }
}
subnet 10.9.2.0 netmask 255.255.255.0 {
  range 10.9.2.10 10.9.2.12;
  option routers 10.9.2.1;
}
host fixed { hardware ethernet 02:00:00:00:00:01; fixed-address 10.9.0.50; }
"""
SERVER_ADDRESSES = (IPv4Interface("10.9.0.1/24"), IPv4Interface("10.9.1.1/24"))
RELAY_ADDRESS = IPv4Address("10.9.2.1")
RESET_EVERY = 5000
FIXED_ADDRESSES = {IPv4Address("10.9.0.50")}
OPTION_CLIENT_ID = 61
OPTION_RELAY_AGENT = 82
OWN_OPTIONS_SIZE = 32      # generous room for the undroppable options besides 82: 53, 54, 1, 51 and the end
INGRESS = Ingress("s0", 2, SERVER_ADDRESSES)
EXPECTED_REPLIES = {
    MessageType.DISCOVER: {MessageType.OFFER},
    MessageType.REQUEST: {MessageType.ACK, MessageType.NAK},
    MessageType.INFORM: {MessageType.ACK},
    None: {None},   # a BOOTREQUEST is answered with a BOOTREPLY
}


@functools.cache
def fuzz_config() -> Config:
    return parse_text(CONFIG, "fuzz.conf")


class InvalidReply(AssertionError):
    """The engine produced a reply (or a lease change) that must never be sent (or stored)."""


class ReceivePath:
    """One engine on one link, fed frames like the server's packet path; counts outcomes by kind."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.config = fuzz_config()
        self.engine = Engine(self.config)
        self.now = start
        self.outcomes: Counter[str] = Counter()

    def feed(self, frame: bytes, seconds_later: float = 1.0) -> DhcpMessage | None:
        """Handle one frame; returns the reply as the client would decode it, or None when nothing is sent."""
        self.now += seconds_later
        try:
            message = decode(decode_frame(frame).payload)
        except (BadFrame, MalformedPacket) as error:
            self.outcomes[f"malformed:{error.reason}"] += 1
            return None
        before = {lease.ip: lease for lease in self.engine.leases}
        decision = self.engine.handle(message, INGRESS, self.now)
        self._check_persisted(decision)
        if decision.reply is None:
            self.outcomes[f"dropped:{decision.drop_reason}" if decision.drop_reason else "no-reply"] += 1
            return None
        reply = self._check_reply(message, decision)
        if reply is None:
            self.outcomes["dropped:reply-too-large"] += 1
            return None
        if reply.message_type is MessageType.ACK and message.message_type is MessageType.REQUEST:
            self._check_ack(message, reply, decision, before.get(reply.yiaddr))
        self.outcomes[f"replied:{reply.message_type.name if reply.message_type else 'BOOTREPLY'}"] += 1
        return reply

    def _check_reply(self, request: DhcpMessage, decision: Decision) -> DhcpMessage | None:
        limit = reply_size_limit(request)
        payload = reply_payload(request, decision.reply)
        if payload is None:
            if len(request.options.get(OPTION_RELAY_AGENT, b"")) + OWN_OPTIONS_SIZE <= limit - OPTIONS_OFFSET:
                raise InvalidReply(f"reply refused as too large: {decision.reply!r}")
            return None
        reply = decode(payload)
        kind = reply.message_type
        asked = request.message_type
        rules = [
            (len(payload) <= max(limit, 548), f"{len(payload)} bytes, limit {limit}"),
            (reply.op == BOOTREPLY, f"op {reply.op}"),
            (reply.xid == request.xid, "xid differs"),
            (reply.chaddr == request.chaddr and reply.hlen == request.hlen, "chaddr differs"),
            (reply.giaddr == request.giaddr, "giaddr differs"),
            (kind in EXPECTED_REPLIES.get(asked, ()), f"{kind} in answer to {asked}"),
            (kind is None or (decision.server_ip is not None and reply.options.get(54) == decision.server_ip.packed),
             "server id"),
            (decision.destination is not None, "no destination"),
            (self._yiaddr_allowed(asked, kind, reply.yiaddr), f"yiaddr {reply.yiaddr}"),
        ]
        broken = [why for holds, why in rules if not holds]
        if broken:
            raise InvalidReply(f"{', '.join(broken)}: request {request!r} reply {reply!r}")
        return reply

    def _yiaddr_allowed(self, asked: MessageType | None, kind: MessageType | None, yiaddr: IPv4Address) -> bool:
        if kind is MessageType.NAK or asked is MessageType.INFORM:
            return yiaddr == ZERO
        return self.config.subnet_for(yiaddr) is not None

    def _check_ack(self, request: DhcpMessage, reply: DhcpMessage, decision: Decision, before: Lease | None) -> None:
        if reply.yiaddr in FIXED_ADDRESSES:
            return
        if not any(lease.ip == reply.yiaddr and lease.state is LeaseState.ACTIVE for lease in decision.persist):
            raise InvalidReply(f"ACK of {reply.yiaddr} without its lease to commit: {decision!r}")
        if (before is not None and before.state is LeaseState.ACTIVE and before.expires > self.now
                and not same_client(before, request)):
            raise InvalidReply(f"{reply.yiaddr} acknowledged to {request.chaddr.hex()} while leased to {before!r}")

    def _check_persisted(self, decision: Decision) -> None:
        for lease in decision.persist:
            if self.config.subnet_for(lease.ip) is None:
                raise InvalidReply(f"lease for {lease.ip} outside every declared subnet: {lease!r}")


def same_client(lease: Lease, request: DhcpMessage) -> bool:
    client_id = request.options.get(OPTION_CLIENT_ID)
    if client_id is not None and lease.client_id is not None:
        return client_id == lease.client_id
    return lease.mac == request.chaddr


def frame_for(message: DhcpMessage, vlans: tuple[int, ...] = ()) -> bytes:
    """A client's broadcast frame carrying `message`, as the server's packet socket would receive it."""
    source = message.ciaddr if message.ciaddr != ZERO else ZERO
    return build_frame(src_mac=message.chaddr[:6].ljust(6, b"\0"), dst_mac=b"\xff" * 6, src_ip=source,
                       dst_ip=IPv4Address("255.255.255.255"), src_port=68, dst_port=67,
                       payload=encode(message, max_size=65535), vlans=vlans)


def seed_messages() -> list[DhcpMessage]:
    """Typical requests of every kind (direct, relayed, with option 82, from the fixed host) to mutate."""
    mac = bytes.fromhex("020000aa0001")
    agent = bytes([1, 4]) + b"port" + bytes([2, 3]) + b"sw1"
    common = {55: bytes([1, 3, 6, 15, 51, 54]), 57: (1500).to_bytes(2, "big"), 12: b"fuzz"}
    requested = {50: IPv4Address("10.9.0.100").packed, 54: SERVER_ADDRESSES[0].ip.packed}
    return [
        DhcpMessage(xid=1, chaddr=mac, options={53: bytes([MessageType.DISCOVER]), **common}),
        DhcpMessage(xid=2, chaddr=mac, options={53: bytes([MessageType.REQUEST]), **requested, **common}),
        DhcpMessage(xid=3, chaddr=mac, ciaddr=IPv4Address("10.9.0.100"),
                    options={53: bytes([MessageType.REQUEST]), 61: b"\x01" + mac}),
        DhcpMessage(xid=4, chaddr=mac, options={53: bytes([MessageType.DECLINE]), **requested}),
        DhcpMessage(xid=5, chaddr=mac, ciaddr=IPv4Address("10.9.0.100"),
                    options={53: bytes([MessageType.RELEASE]), 54: requested[54]}),
        DhcpMessage(xid=6, chaddr=mac, ciaddr=IPv4Address("10.9.0.77"), options={53: bytes([MessageType.INFORM])}),
        DhcpMessage(xid=7, chaddr=mac, giaddr=RELAY_ADDRESS, hops=1,
                    options={53: bytes([MessageType.DISCOVER]), 82: agent, **common}),
        DhcpMessage(xid=8, chaddr=bytes.fromhex("020000000001"), options={53: bytes([MessageType.DISCOVER])}),
        DhcpMessage(xid=9, chaddr=mac, options={53: bytes([MessageType.DISCOVER]), 60: b"voip-phone"}),
    ]


def frame_from_fuzz_input(data: bytes) -> bytes:
    """Atheris input -> frame. Byte 0 chooses: odd, the rest is the frame as is; even, the rest is a DHCP
    payload wrapped in a correct frame (bits 1-2: 0, 1 or 2 VLAN tags), so mutations reach the codec and
    the engine instead of dying at the UDP checksum."""
    if not data or data[0] & 1:
        return data[1:]
    vlans = ((), (7,), (7, 8), (4095, 1))[(data[0] >> 1) & 3]
    return build_frame(src_mac=b"\x02\x00\x00\xaa\x00\x01", dst_mac=b"\xff" * 6, src_ip=ZERO,
                       dst_ip=IPv4Address("255.255.255.255"), src_port=68, dst_port=67, payload=data[1:], vlans=vlans)


def write_seed_corpus(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for n, message in enumerate(seed_messages()):
        (directory / f"payload-{n}").write_bytes(b"\0" + encode(message, max_size=65535))
        (directory / f"frame-{n}").write_bytes(b"\1" + frame_for(message, vlans=(5,) if n % 2 else ()))


def run_atheris(argv: list[str]) -> None:
    """Coverage-guided fuzzing of the receive path; libFuzzer flags in `argv`, corpus in the last argument.

    The engine keeps its state across inputs (so sequences of requests happen), and starts afresh every
    RESET_EVERY inputs to keep its lease index small.
    """
    import atheris

    corpus = Path(argv[-1])
    write_seed_corpus(corpus)
    state = {"path": ReceivePath(), "inputs": 0}

    def one_input(data: bytes) -> None:
        state["inputs"] += 1
        if state["inputs"] % RESET_EVERY == 0:
            state["path"] = ReceivePath()
        state["path"].feed(frame_from_fuzz_input(data))

    atheris.instrument_all()
    atheris.Setup([sys.argv[0], *argv], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    run_atheris(sys.argv[1:])
