"""Building a reply, one small step per concern (message type and server id, lease times, configured
options, boot parameters, host name, relay agent echo). Adding an option behaviour is adding a step.
A BOOTREPLY (BOOTP_STEPS) is a DHCP reply without message type, server identifier and lease times.

The steps of a kind of reply are in two groups: `shared` steps see only the scope stack and a few request
fields (message type, server address, lease time, subnet, option 55), so their outcome is made once per stack
and such fields; each reply is made from it and the request's header fields, then the `own` steps (host name,
relay agent echo) run per reply.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address
from typing import Any

from dhcpd.config.expressions import PacketView, evaluate
from dhcpd.config.model import EMPTY_MAPPING, Host, Scope, Subnet
from dhcpd.engine.classify import with_conditionals
from dhcpd.wire.addresses import address_bytes, address_value
from dhcpd.wire.codec import prepared_options
from dhcpd.wire.message import BOOTREPLY, ZERO, DhcpMessage, MessageType

OPTION_SUBNET_MASK = 1
OPTION_HOST_NAME = 12
OPTION_LEASE_TIME = 51
OPTION_MESSAGE_TYPE = 53
OPTION_SERVER_ID = 54
OPTION_PARAMETER_REQUEST_LIST = 55
OPTION_MESSAGE = 56
OPTION_RENEWAL_TIME = 58
OPTION_REBINDING_TIME = 59
OPTION_RELAY_AGENT = 82
# Never sent from configuration: they belong to the protocol, not to the operator.
PROTOCOL_OPTIONS = frozenset({0, 50, 51, 52, 53, 54, 55, 57, 58, 59, 61, 82, 255})


DEFAULT_LEASE_TIME = 43200     # isc-dhcpd's defaults
MAX_LEASE_TIME = 86400
ACK = MessageType.ACK   # read once: in Python 3.11 every MessageType.X read goes through a slow hook
_TYPE_BYTES = {kind: bytes([kind]) for kind in MessageType}   # bytes([IntEnum]) goes through __index__: 4x slower
MEMO_LIMIT = 256       # entries per memo that request fields choose
# Shared parts remembered by all stacks together: about 500 bytes each with a handful of options (tracemalloc),
# and about 150 more for their encoded form (a 2-tuple and bytes that the codec's memo mostly shares), so at most
# ~10 MiB. Bounded per stack only, a campus whose 4,000 links each see a dozen kinds of client
# (parameter request lists) would keep about 100,000 (an OFFER's and an ACK's per list and link), ~50 MiB.
SHARED_PARTS_LIMIT = 16_384
_SECONDS = struct.Struct("!I")
# What the shared steps set: siaddr, sname, file and options, and those options' wire form for encode
# (DhcpMessage.encoded_options). A tuple, not a DhcpMessage: a stack keeps one per kind of reply and parameter list,
# thousands of them on a server with thousands of links.
SharedPart = tuple[IPv4Address, bytes, bytes, dict[int, bytes], tuple[int, bytes]]


class _SharedPartsBudget:
    """The count of shared parts that every stack's memo holds; past SHARED_PARTS_LIMIT every memo is emptied
    (they fill again as requests come), so memory stays bounded however many stacks and lists there are."""

    def __init__(self) -> None:
        self.memos: list[dict[tuple, SharedPart]] = []   # every memo that holds entries
        self.entries = 0

    def admit(self, memo: dict[tuple, SharedPart]) -> None:
        """Make room for one entry in `memo` (which the caller then adds)."""
        listed = bool(memo)   # a memo is listed when it gets its first entry
        if self.entries >= SHARED_PARTS_LIMIT:
            for full in self.memos:
                full.clear()
            self.memos.clear()
            self.entries = 0
            listed = False
        elif len(memo) >= MEMO_LIMIT:  # option 55 and 51 are the client's choice: bound what one stack keeps
            self.entries -= len(memo)
            memo.clear()
        if not listed:
            self.memos.append(memo)
        self.entries += 1


_shared_parts_budget = _SharedPartsBudget()


class ScopeStack:
    """The scopes that apply to one reply, innermost first: host, classes, pool, subnet, ..., global.

    A host's and a class's own chains are searched up to (not including) the global scope, then the
    address's chain, so that a global option never overrides a subnet's just because the host sits in the
    global scope. Given the request's PacketView, `if` branches that hold join in front of the scope they
    were written in, and `option NAME = EXPR` values are computed for this request.
    """

    __slots__ = ("packet", "scopes", "depends_on_packet", "_params", "ping_check", "get_lease_hostnames",
                 "one_lease_per_client", "default_lease_time", "_options", "shared_parts", "_lease_times")

    def __init__(self, address_scope: Scope, host: Host | None = None, classes: Iterable[Scope] = (),
                 packet: PacketView | None = None) -> None:
        own_scopes = [s for s in host.chain() if s.parent is not None] if host is not None else []
        for class_scope in classes:
            own_scopes += [s for s in class_scope.chain() if s.parent is not None and s not in own_scopes]
        scopes = own_scopes + list(address_scope.chain())
        self.scopes: list[Scope] = with_conditionals(scopes, packet) if packet is not None else scopes
        self.depends_on_packet = any(s.conditionals or s.option_expressions for s in scopes)
        # A stack that does not depend on the packet is kept across requests: it must not keep the first one's.
        self.packet = packet if self.depends_on_packet else None
        self._params: Mapping[str, Any] = _merged([scope.params for scope in self.scopes])
        # Parameters read for every request: attributes, not a param() call each time.
        self.ping_check: bool = self.param("ping-check", False)
        self.get_lease_hostnames: bool = self.param("get-lease-hostnames", False)
        self.one_lease_per_client: bool = self.param("one-lease-per-client", False)
        self.default_lease_time: int = self.param("default-lease-time", DEFAULT_LEASE_TIME)
        self._options: Mapping[int, bytes] | None = None
        # What the shared steps of a reply made, by (steps, message type, server address, lease time, option 55,
        # subnet): a stack without `if` blocks is shared by every request that gets it, so this is built once,
        # not per reply.
        self.shared_parts: dict[tuple, SharedPart] = {}
        self._lease_times: dict[bytes, int] | None = None   # made when a client first asks for a lease time

    def param(self, name: str, default: Any = None) -> Any:
        return self._params.get(name, default)

    def options(self) -> dict[int, bytes]:
        """Every option visible here, inner scopes overriding outer ones (a copy the caller may change)."""
        if self._options is None:
            if self.packet is None:
                self._options = _merged([scope.options for scope in self.scopes])
            else:
                merged: dict[int, bytes] = {}
                for scope in reversed(self.scopes):
                    merged.update(scope.options)
                    for code, expression in scope.option_expressions.items():
                        value = evaluate(expression, self.packet)
                        if isinstance(value, bytes):
                            merged[code] = value
                self._options = merged
        return dict(self._options)

    def configured(self, order: bytes | None, subnet: Subnet | None) -> dict[int, bytes]:
        """The configured options with codes in `order` (option 55's value; None: all) in that order, preceded
        by the subnet mask (the subnet's own when none is configured); never a protocol option."""
        available = self.options()
        if OPTION_SUBNET_MASK not in available and subnet is not None:
            available[OPTION_SUBNET_MASK] = address_bytes(subnet.network.netmask)
        codes = list(available) if order is None else [OPTION_SUBNET_MASK, *order]
        return {code: available[code] for code in codes if code not in PROTOCOL_OPTIONS and code in available}

    def timers(self, lease: int) -> tuple[bytes, bytes, bytes]:
        """Options 51, 58 and 59 for a lease of `lease` seconds: T1 and T2 as configured, else 1/2 and 7/8 of it,
        never longer than the lease."""
        configured = self.options()
        renewal = _seconds(configured.get(OPTION_RENEWAL_TIME), lease // 2)
        rebinding = _seconds(configured.get(OPTION_REBINDING_TIME), lease * 7 // 8)
        return _packed_seconds(lease), _packed_seconds(min(renewal, lease)), _packed_seconds(min(rebinding, lease))

    def lease_time(self, asked: bytes | None) -> int:
        """Seconds of lease for a request whose option 51 is `asked` (None: absent): default-lease-time unless it
        asks for a time, else that time within min-lease-time and max-lease-time. Memoised per `asked`."""
        if asked is None or len(asked) != 4:
            return self.default_lease_time
        times = self._lease_times
        if times is None:
            times = self._lease_times = {}
        found = times.get(asked)
        if found is None:
            if len(times) >= MEMO_LIMIT:  # option 51 is the client's choice
                times.clear()
            maximum = self.param("max-lease-time", max(MAX_LEASE_TIME, self.default_lease_time))
            found = times[asked] = max(self.param("min-lease-time", 0), min(int.from_bytes(asked, "big"), maximum))
        return found

    def made_shared_part(self, key: tuple, ctx: ReplyContext, steps: ReplySteps) -> SharedPart:
        """What `steps.shared` make of the reply for `ctx`, remembered in `shared_parts` as `key` (the fields they
        read, see build_reply); the caller must not change its options."""
        _shared_parts_budget.admit(self.shared_parts)
        made = DhcpMessage()
        for step in steps.shared:
            step(ctx, made)
        found = self.shared_parts[key] = (made.siaddr, made.sname, made.file, made.options,
                                          prepared_options(made.options))
        return found


@dataclass(slots=True)
class ReplyContext:
    request: DhcpMessage
    message_type: MessageType | None           # None: a BOOTREPLY to a BOOTP client
    server_ip: IPv4Address
    scopes: ScopeStack
    subnet: Subnet | None
    yiaddr: IPv4Address = ZERO
    lease_time: int | None = None
    host: Host | None = None
    lease_hostname: str | None = None          # the address's reverse DNS name (`get-lease-hostnames`)


Step = Callable[[ReplyContext, DhcpMessage], None]


class ReplySteps:
    """The steps of one kind of reply: `shared` ones may read only the scope stack and the context's message type,
    server address, lease time, subnet and the request's option 55, and set only options, siaddr, sname and file;
    `own` ones run per reply, once it has the shared part and its header, and may only add options (the shared ones
    are already encoded, `DhcpMessage.encoded_options`) made from the context's host or lease host name or the
    request's relay agent option: they do not run for a reply that has none of these (most replies)."""

    __slots__ = ("shared", "own")

    def __init__(self, shared: tuple[Step, ...], own: tuple[Step, ...]) -> None:
        self.shared = shared
        self.own = own


def message_type_and_server_id(ctx: ReplyContext, reply: DhcpMessage) -> None:
    reply.options[OPTION_MESSAGE_TYPE] = _TYPE_BYTES[ctx.message_type]
    reply.options[OPTION_SERVER_ID] = address_bytes(ctx.server_ip)


def lease_times(ctx: ReplyContext, reply: DhcpMessage) -> None:
    if ctx.lease_time is None:
        return
    options = reply.options
    options[OPTION_LEASE_TIME], options[OPTION_RENEWAL_TIME], options[OPTION_REBINDING_TIME] = \
        ctx.scopes.timers(ctx.lease_time)


def _seconds(value: bytes | None, default: int) -> int:
    return _SECONDS.unpack(value)[0] if value is not None and len(value) == 4 else default


@lru_cache(maxsize=256)
def _packed_seconds(seconds: int) -> bytes:
    """4 bytes of seconds, the same object for every stack that sends the same time."""
    return _SECONDS.pack(seconds)


def _merged(mappings: list[Mapping]) -> Mapping:
    """The mappings of a stack's scopes (innermost first) as one, inner keys winning: the one that is not empty
    itself when only one is (as with parameters written only in the global scope), not a copy per stack."""
    written = [mapping for mapping in mappings if mapping]
    if len(written) <= 1:
        return written[0] if written else EMPTY_MAPPING
    merged: dict = {}
    for mapping in reversed(written):
        merged.update(mapping)
    return merged


def configured_options(ctx: ReplyContext, reply: DhcpMessage) -> None:
    """Options from the configuration: those the client asked for (55) in its order, or all of them.
    The steps before this one set only protocol options, which configured ones never are."""
    reply.options.update(ctx.scopes.configured(ctx.request.options.get(OPTION_PARAMETER_REQUEST_LIST), ctx.subnet))


def every_configured_option(ctx: ReplyContext, reply: DhcpMessage) -> None:
    """Every option from the configuration, whatever the client asked for (isc's BOOTREPLY to a fixed host)."""
    reply.options.update(ctx.scopes.configured(None, ctx.subnet))


def boot_parameters(ctx: ReplyContext, reply: DhcpMessage) -> None:
    next_server = ctx.scopes.param("next-server")
    if next_server is not None:
        reply.siaddr = next_server
    filename = ctx.scopes.param("filename")
    if filename is not None:
        reply.file = filename.encode()
    server_name = ctx.scopes.param("server-name")
    if server_name is not None:
        reply.sname = server_name.encode()


def host_name(ctx: ReplyContext, reply: DhcpMessage) -> None:
    if OPTION_HOST_NAME in reply.options:
        return
    if ctx.host is not None and ctx.scopes.param("use-host-decl-names", False):
        reply.options[OPTION_HOST_NAME] = ctx.host.name.encode()
    elif ctx.lease_hostname is not None:
        requested = ctx.request.options.get(OPTION_PARAMETER_REQUEST_LIST)
        if requested is None or OPTION_HOST_NAME in requested:  # isc lists it like a configured option 12
            reply.options[OPTION_HOST_NAME] = ctx.lease_hostname.encode()


def relay_agent_echo(ctx: ReplyContext, reply: DhcpMessage) -> None:
    """RFC 3046 2.2: option 82 goes back unchanged, as the last option."""
    agent = ctx.request.options.get(OPTION_RELAY_AGENT)
    if agent is not None:
        reply.options[OPTION_RELAY_AGENT] = agent


LEASE_STEPS = ReplySteps((message_type_and_server_id, lease_times, configured_options, boot_parameters),
                         (host_name, relay_agent_echo))
NAK_STEPS = ReplySteps((message_type_and_server_id,), (relay_agent_echo,))
BOOTP_STEPS = ReplySteps((configured_options, boot_parameters), (host_name, relay_agent_echo))
FIXED_BOOTP_STEPS = ReplySteps((every_configured_option, boot_parameters), (host_name, relay_agent_echo))


def build_reply(ctx: ReplyContext, steps: ReplySteps = LEASE_STEPS) -> DhcpMessage:
    """The reply: the request's htype, hlen, xid, flags, giaddr and chaddr, ctx.yiaddr, the request's ciaddr in
    an ACK or BOOTREPLY, then what the steps make."""
    request, kind, scopes = ctx.request, ctx.message_type, ctx.scopes
    # the memo read here, not in a method: a call costs more than the lookup
    key = (steps, kind, address_value(ctx.server_ip), ctx.lease_time,
           request.options.get(OPTION_PARAMETER_REQUEST_LIST), ctx.subnet)
    siaddr, sname, file, options, encoded_options = (scopes.shared_parts.get(key)
                                                     or scopes.made_shared_part(key, ctx, steps))
    ciaddr = request.ciaddr if kind is ACK or kind is None else ZERO
    # positional: a dataclass made with keywords costs twice as much, and this is made for every reply
    reply = DhcpMessage(BOOTREPLY, request.htype, request.hlen, 0, request.xid, 0, request.flags, ciaddr, ctx.yiaddr,
                        siaddr, request.giaddr, request.chaddr, sname, file, dict(options), encoded_options)
    if ctx.host is not None or ctx.lease_hostname is not None or OPTION_RELAY_AGENT in request.options:
        for step in steps.own:
            step(ctx, reply)
    return reply
