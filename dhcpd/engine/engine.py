"""The DHCPv4 server state machine (RFC 2131 section 4.3), sans-I/O.

`Engine.handle(message, ingress, now)` takes a decoded request, the served link it came in on and the
time, and returns a `Decision`: the reply and where it goes, the leases to commit before it leaves, and
isc-dhcpd style log lines. It keeps the lease index in memory and never touches a socket, the clock or SQL.
BOOTP requests (no option 53) are answered as isc-dhcpd does (dhcpd.engine.bootp). Where an answer needs
I/O first, the decision says so (`ProbeFirst` for ping-check, `ResolveFirst` for get-lease-hostnames) and
the server calls back `probe_result` or `name_resolved`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple
from ipaddress import IPv4Address
from operator import attrgetter

from dhcpd.config.expressions import PacketView
from dhcpd.config.model import Config, Host, Pool, Scope, Subnet
from dhcpd.engine.billing import Billing
from dhcpd.engine.bootp import bootp_lease_seconds, bootp_ranges
from dhcpd.engine.classify import Classifier, Membership, packet_view
from dhcpd.engine.hosts import HostIndex
from dhcpd.engine.lease_index import LeaseIndex
from dhcpd.engine.network import (OPTION_SUBNET_SELECTION, SUBOPTION_LINK_SELECTION, Segment, SubnetMap, find_segment,
                                  server_address)
from dhcpd.engine.probe import ProbeFirst, ping_timeout
from dhcpd.engine.reply import BOOTP_STEPS, FIXED_BOOTP_STEPS, NAK_STEPS, ReplyContext, ScopeStack, build_reply
from dhcpd.engine.reverse_names import ResolveFirst, ReverseNames
from dhcpd.engine.types import Decision, Destination, DestinationKind, Ingress
from dhcpd.leases.record import ETHERNET_MAC, Lease, LeaseState, shared_link
from dhcpd.wire.addresses import address_text, address_value, from_bytes, shared_address
from dhcpd.wire.codec import MalformedPacket, option82_suboptions
from dhcpd.wire.message import BOOTREQUEST, MESSAGE_TYPES, ZERO, DhcpMessage, MessageType

OPTION_HOST_NAME = 12
OPTION_REQUESTED_ADDRESS = 50
OPTION_LEASE_TIME = 51
OPTION_MESSAGE_TYPE = 53
OPTION_SERVER_ID = 54
OPTION_CLIENT_ID = 61
OPTION_RELAY_AGENT = 82
SUBOPTION_CIRCUIT_ID = 1
SUBOPTION_REMOTE_ID = 2

OFFER_HOLD = 60                # seconds an offered address stays reserved for its client
DECLINE_PROBATION = 86400      # seconds a declined address stays out of use
ABANDON_LEASE_TIME = 86400     # isc's default abandon-lease-time: an address that answered a ping
BROADCAST = IPv4Address("255.255.255.255")
CLIENT_PORT = 68
ANSWER_VERBS = {MessageType.OFFER: "DHCPOFFER on", MessageType.ACK: "DHCPACK on", None: "BOOTREPLY on"}
SERVER_PORT = 67
PLACEMENT_LIMIT = 65536        # remembered (subnet selection, relay, link) combinations; a client can choose the first two


# Enum members the packet path reads, as module constants: in Python 3.11 `LeaseState.ACTIVE` goes through the
# slow attribute hook that EnumType.__getattr__ gives every enum class (about 900 instructions); a global read
# costs a few dozen.
OFFER, ACK, NAK = MessageType.OFFER, MessageType.ACK, MessageType.NAK
OFFERED, ACTIVE, DECLINED, ABANDONED = LeaseState.OFFERED, LeaseState.ACTIVE, LeaseState.DECLINED, LeaseState.ABANDONED
RELEASED, EXPIRED = LeaseState.RELEASED, LeaseState.EXPIRED
OUT_OF_USE = (DECLINED, ABANDONED)   # tuples: `in` compares by identity first; an Enum's hash is a Python method
HELD = (ACTIVE, OFFERED)
TO_RELAY, TO_BROADCAST = DestinationKind.RELAY, DestinationKind.BROADCAST
TO_UNICAST_CIADDR, TO_UNICAST_CHADDR = DestinationKind.UNICAST_CIADDR, DestinationKind.UNICAST_CHADDR


def format_mac(mac: bytes) -> str:
    return mac.hex(":")


class Request:
    """One request with what every handler needs: client identity, segment, our address, log prefix.

    `memberships` stays empty unless the configuration has classes; the PacketView that expressions see is made
    on first use (classes, `if` blocks, option expressions), not for every request."""

    __slots__ = ("message", "ingress", "segment", "server_ip", "client_id", "mac", "agent", "hosts", "host", "via",
                 "relay", "_packet", "memberships", "hostname", "client_via")

    def __init__(self, message: DhcpMessage, ingress: Ingress, placement: Placement, agent: dict[int, bytes],
                 hosts: list[Host]) -> None:
        self.message = message
        self.ingress = ingress
        self.segment, self.server_ip, self.via, self.relay = placement
        self.client_id = message.options.get(OPTION_CLIENT_ID)
        self.mac = message.chaddr
        self.agent = agent
        self.hosts = hosts
        self.host = hosts[0] if hosts else None   # the host whose declarations apply
        self._packet: PacketView | None = None
        self.memberships: tuple[Membership, ...] = ()
        name = message.options.get(OPTION_HOST_NAME)
        self.hostname = name.decode(errors="replace") if name else None
        # `02:42:.. (hostname) via 10.0.0.2`: the client and where it came from, as isc-dhcpd's log lines end
        self.client_via = (f"{self.mac.hex(':')} ({self.hostname}) via {self.via}" if name
                           else f"{self.mac.hex(':')} via {self.via}")

    @property
    def packet(self) -> PacketView:
        if self._packet is None:
            self._packet = packet_view(self.message, self.agent, known=bool(self.hosts))
        return self._packet

    @property
    def bootp(self) -> bool:
        return self.message.message_type is None

    @property
    def classes(self) -> frozenset[str]:
        return frozenset(m.client_class.name for m in self.memberships)

    def owns(self, lease: Lease) -> bool:
        """By client id when both have one, else by MAC when the lease has no client id."""
        stored = lease.stored_client_id
        if stored is None:
            return lease.mac == self.mac
        if stored is ETHERNET_MAC:
            return self.client_id == b"\x01" + lease.mac
        return stored == self.client_id


class Placement(NamedTuple):
    """Where a request stands, the same for every request with its subnet selection options, relay and link."""

    segment: Segment
    server_ip: IPv4Address | None
    via: str                          # where log lines say it came from: the relay's address or the link's name
    relay: Destination | None         # where replies go when it was relayed


def reply_destination(request: Request, reply: DhcpMessage, nak: bool) -> Destination:
    """RFC 2131 section 4.1: relay, then NAK broadcast, then ciaddr, then broadcast flag, then chaddr."""
    if request.relay is not None:
        return request.relay
    message = request.message
    if nak:
        return Destination(TO_BROADCAST, BROADCAST, CLIENT_PORT)
    # Addresses tested as integers: IPv4Address's == and != are Python methods (about 1,500 instructions more).
    if address_value(message.ciaddr):
        return Destination(TO_UNICAST_CIADDR, message.ciaddr, CLIENT_PORT)
    if message.broadcast or message.htype != 1 or message.hlen != 6 or not address_value(reply.yiaddr):
        return Destination(TO_BROADCAST, BROADCAST, CLIENT_PORT)
    return Destination(TO_UNICAST_CHADDR, reply.yiaddr, CLIENT_PORT, mac=message.chaddr)


class Engine:
    def __init__(self, config: Config, leases: Iterable[Lease] = (), *, offer_hold: int = OFFER_HOLD,
                 decline_probation: int = DECLINE_PROBATION, cursor_offset: float = 0.0) -> None:
        """`cursor_offset` (0 to 1): where each pool starts handing out never-used addresses; servers that share
        one database use different offsets so that they do not race for the same addresses."""
        self.offer_hold = offer_hold
        self.cursor_offset = cursor_offset
        self.decline_probation = decline_probation
        self.config = config
        self.reservations: list[Host] = []
        self.billing = Billing()
        self.reverse_names = ReverseNames()
        self._apply(config, leases)

    def _apply(self, config: Config, leases: Iterable[Lease]) -> None:
        self.config = config
        self.subnets = SubnetMap(config)
        self.hosts = HostIndex([*config.hosts, *self.reservations])
        self.classifier = Classifier(config.classes)
        self._static_stacks: dict[tuple, ScopeStack] = {}
        # by options 118 and 82.5, giaddr and link name: (the link's addresses, Placement)
        self._placements: dict[tuple, tuple[tuple, Placement]] = {}
        self._pool_subnets = {pool: subnet for subnet in config.subnets for pool in subnet.pools}
        # pools without permit lists that take unknown clients: every client may use them
        self._open_pools = {pool: not pool.permits and pool.param("unknown-clients", True)
                            for pool in self._pool_subnets}
        self.leases = LeaseIndex([pool for subnet in config.subnets for pool in subnet.pools], leases,
                                 self.cursor_offset)

    def reconfigure(self, config: Config) -> None:
        """Swap in a new configuration, keeping every lease and reservation."""
        self._apply(config, list(self.leases))

    def set_reservations(self, reservations: Iterable[Host]) -> None:
        """Reservations made outside dhcpd.conf (the REST API), matched like `host` declarations."""
        self.reservations = list(reservations)
        self.hosts = HostIndex([*self.config.hosts, *self.reservations])
        self._static_stacks = {}

    def handle(self, message: DhcpMessage, ingress: Ingress, now: float) -> Decision:
        options = message.options
        kind = MESSAGE_TYPES.get(options.get(OPTION_MESSAGE_TYPE))   # message.message_type, without a property call
        if message.op != BOOTREQUEST:
            return Decision(drop_reason="not-dhcp-request")
        if kind is None:  # BOOTP, unless option 53 is there with a value that is no message type
            handler = None if OPTION_MESSAGE_TYPE in options else Engine._bootp
        else:
            handler = self._handlers.get(kind)
        if handler is None:
            return Decision(drop_reason="not-dhcp-request")
        try:
            agent = option82_suboptions(options[OPTION_RELAY_AGENT]) if OPTION_RELAY_AGENT in options else {}
        except MalformedPacket:
            return Decision(drop_reason="bad-relay-agent-option")
        # where the request stands, remembered until the configuration changes; the link's addresses are checked,
        # not hashed: an IPv4Interface's hash is a Python method, while the tuple a link's frames all carry compares
        # equal to itself without a call
        key = (options.get(OPTION_SUBNET_SELECTION), agent.get(SUBOPTION_LINK_SELECTION), address_value(message.giaddr),
               ingress.ifname)
        placed = self._placements.get(key)
        placement = (placed[1] if placed is not None and placed[0] == ingress.addresses
                     else self._place(key, message, ingress, agent))
        if placement is None:
            name = f"DHCP{kind.name}" if kind is not None else "BOOTREQUEST"
            via = str(message.giaddr) if message.giaddr != ZERO else ingress.ifname
            return Decision(drop_reason="unknown-network",
                            log=[f"{name} from {format_mac(message.chaddr)} via {via}: unknown network segment"])
        if placement.server_ip is None:
            return Decision(drop_reason="no-server-address")
        hosts = self.hosts.matching(message.options.get(OPTION_CLIENT_ID), message.chaddr,
                                    agent.get(SUBOPTION_CIRCUIT_ID)) if self.hosts.declared else []
        request = Request(message, ingress, placement, agent, hosts)
        if self.classifier.classes:
            request.memberships = self.classifier.classify(request.packet)
        return handler(self, request, now)

    def _place(self, key: tuple, message: DhcpMessage, ingress: Ingress, agent: dict[int, bytes]) -> Placement | None:
        """Where the request stands (None: on no segment we serve), remembered under `key`."""
        segment = find_segment(message, ingress, agent, self.subnets)
        if segment is None:
            return None
        if len(self._placements) >= PLACEMENT_LIMIT:
            self._placements.clear()
        if segment.relayed:
            via = address_text(address_value(message.giaddr))
            relay = Destination(TO_RELAY, message.giaddr, SERVER_PORT)
        else:
            via, relay = ingress.ifname, None
        placement = Placement(segment, server_address(segment, ingress), via, relay)
        self._placements[key] = (ingress.addresses, placement)
        return placement

    # -- DISCOVER ---------------------------------------------------------------------------------

    def _discover(self, request: Request, now: float) -> Decision:
        log = [f"DHCPDISCOVER from {request.client_via}"]
        fixed = self.hosts.fixed_address(request.hosts, request.segment.subnets) if request.hosts else None
        if fixed is not None:
            host, address = fixed
            return self._answer_fixed(request, OFFER, host, address, log, now)
        address = self._choose_address(request, now)
        if address is None:
            network = request.segment.subnets[0].network
            log.append(f"DHCPDISCOVER from {request.client_via}: network {network}: no free leases")
            return Decision(drop_reason="no-free-leases", log=log)
        current = self.leases.get(address)
        new_to_client = current is None or not request.owns(current)
        value = address_value(address)
        scope, subnet = self._placed(value)
        if current is None or current.state is not ACTIVE or current.expires <= now:
            self.leases.put(self._lease_for(request, value, subnet, OFFERED, now, self.offer_hold))
        host = request.host
        scopes = self._scopes(request, scope, host)
        if new_to_client and scopes.ping_check:
            timeout = ping_timeout(scopes.param("ping-timeout"), scopes.param("ping-timeout-ms"))
            return ProbeFirst(log=log, address=address, timeout=timeout)
        return self._answer(request, OFFER, address, scopes, subnet, host, log, now)

    def probe_result(self, message: DhcpMessage, ingress: Ingress, address: IPv4Address, answered: bool,
                     now: float) -> Decision:
        """The outcome of a `ProbeFirst`: the offer, or (like isc-dhcpd) the address abandoned and no reply;
        the client's next DISCOVER gets another address."""
        if not answered:
            return self.handle(message, ingress, now)
        abandoned = Lease(ip=address, state=ABANDONED, starts=now, expires=now + ABANDON_LEASE_TIME)
        self.leases.put(abandoned)
        return Decision(persist=[abandoned], drop_reason="pinged-before-offer",
                        log=[f"Abandoning IP address {address}: pinged before offer"])

    def name_resolved(self, message: DhcpMessage, ingress: Ingress, address: IPv4Address, name: str | None,
                      now: float) -> Decision:
        """The outcome of a `ResolveFirst`: remember `address`'s name (None: it has none), answer the message."""
        self.reverse_names.learn(address, name, now)
        return self.handle(message, ingress, now)

    def _choose_address(self, request: Request, now: float) -> IPv4Address | None:
        """The client's own lease on this segment, else the address it asked for, else a free one."""
        for lease in self._latest_first(request):
            if lease.state not in OUT_OF_USE and self._allowed(request, lease.ip):
                return lease.ip
        if request.memberships and self.billing.full(request.memberships, self.leases, now) is not None:
            return None
        wanted = request.message.options.get(OPTION_REQUESTED_ADDRESS)
        if wanted is not None and len(wanted) == 4:
            address = shared_address(from_bytes(wanted, "big"))
            if self._allowed(request, address) and self.leases.is_free(address_value(address), now):
                return address
        for subnet in request.segment.subnets:
            for pool in subnet.pools:
                if not (self._open_pools[pool] or self._permitted(pool, request)):   # an open pool, without a call
                    continue
                found = self.leases.allocate(pool, lambda value: self._available(request, value, now), now)
                if found is not None:
                    return found
        return None

    def _latest_first(self, request: Request) -> list[Lease]:
        """The client's leases, the one that ends last first (a stable sort: ties keep the index's order)."""
        own = self.leases.client_leases(request.client_id, request.mac)
        if len(own) > 1:  # most clients have one lease or none: no sort, no key function
            own.sort(key=attrgetter("expires"), reverse=True)
        return own

    def _allowed(self, request: Request, address: IPv4Address) -> bool:
        """In a permitted pool of the request's segment and not reserved for another host."""
        state = self.leases.pool_of(address_value(address))
        return (state is not None and self._pool_subnets[state.pool] in request.segment.subnets
                and self._pool_allows(request, state.pool, address))

    def _pool_allows(self, request: Request, pool: Pool, address: IPv4Address) -> bool:
        """`pool`, the address's, takes this client, and the address is not reserved for another host."""
        return (self._open_pools[pool] or self._permitted(pool, request)) and (   # an open pool, without a call
            not self.hosts.reserved or not self.hosts.reserved_for_other(address, request.hosts))

    def _available(self, request: Request, value: int, now: float) -> bool:
        if not self.leases.is_free(value, now):
            return False
        return not self.hosts.reserved or not self.hosts.reserved_for_other(IPv4Address(value), request.hosts)

    def _permitted(self, pool: Pool, request: Request) -> bool:
        """isc's permit lists: any matching `deny` refuses; with `allow`s, one of them must match."""
        if self._open_pools[pool]:
            return True
        known = bool(request.hosts)
        if not (pool.param("unknown-clients", True) or known):
            return False
        allows = [what for verdict, what in pool.permits if verdict == "allow"]
        if any(verdict == "deny" and self._permit_matches(what, request) for verdict, what in pool.permits):
            return False
        return not allows or any(self._permit_matches(what, request) for what in allows)

    @staticmethod
    def _permit_matches(what: object, request: Request) -> bool:
        if isinstance(what, tuple):  # ("members of", class name)
            return what[1] in request.classes
        return (what == "all clients" or (what == "known-clients" and bool(request.hosts))
                or (what == "unknown-clients" and not request.hosts)
                or (what == "dynamic bootp clients" and request.bootp))

    # -- REQUEST ----------------------------------------------------------------------------------

    def _request(self, request: Request, now: float) -> Decision:
        message = request.message
        options = message.options
        # addresses as ints until the reply needs one: IPv4Address's ==, hash and constructor are Python code
        wanted = options.get(OPTION_REQUESTED_ADDRESS)
        if wanted is not None and len(wanted) == 4:
            value = from_bytes(wanted, "big")
        else:
            value = address_value(message.ciaddr) or None   # an unset ciaddr (0) is no address: as in reply_destination
        chosen_server = options.get(OPTION_SERVER_ID)
        server_value = (from_bytes(chosen_server, "big")
                        if chosen_server is not None and len(chosen_server) == 4 else None)
        shown = address_text(value) if value is not None else None
        if server_value is None:
            log = [f"DHCPREQUEST for {shown} from {request.client_via}"]
        else:
            log = [f"DHCPREQUEST for {shown} ({address_text(server_value)}) from {request.client_via}"]
        if value is None:
            return Decision(drop_reason="request-without-address", log=log)
        if (chosen_server is not None and server_value != address_value(request.server_ip)
                and not self._on_ingress(server_value, request)):
            self._drop_offers(request)
            log[0] += ": lease owned by another server"
            return Decision(drop_reason="other-server", log=log)
        address = shared_address(value)
        scope, subnet = self._placed(value)
        if subnet not in request.segment.subnets:
            return self._nak(request, address, log, "wrong network")
        pool = scope if scope is not subnet else None   # _placed gives the subnet twice for an address in no pool
        fixed = self.hosts.fixed_address(request.hosts, request.segment.subnets) if request.hosts else None
        if fixed is not None:
            host, fixed_address = fixed
            if fixed_address != address:
                return self._nak(request, address, log, "not the host's fixed address")
            return self._answer_fixed(request, ACK, host, address, log, now)
        lease = self.leases.get(address)
        owned = lease is not None and request.owns(lease)
        if owned:
            if lease.state in OUT_OF_USE:
                return self._nak(request, address, log, "address was declined")
            if pool is None or not self._pool_allows(request, pool, address):
                return self._nak(request, address, log, "address not available to this client")
        elif not self.leases.is_free(value, now) or (
                self.hosts.reserved and self.hosts.reserved_for_other(address, request.hosts)):
            return self._nak(request, address, log, "address leased to another client")
        elif chosen_server is None:
            log[0] += f": unknown lease {address}."
            return Decision(drop_reason="unknown-lease", log=log)
        elif pool is None or not self._pool_allows(request, pool, address):
            return self._nak(request, address, log, "address not in a pool for this client")
        if request.memberships and not (owned and lease.state is ACTIVE and lease.expires > now):   # not renewing
            full = self.billing.full(request.memberships, self.leases, now)
            if full is not None:
                log[0] += f": lease limit of class {full.client_class.name} reached"
                return Decision(drop_reason="lease-limit", log=log)
        host = request.host
        scopes = self._scopes(request, scope, host)
        seconds = scopes.lease_time(options.get(OPTION_LEASE_TIME))
        decision = self._answer(request, ACK, address, scopes, subnet, host, log, now, seconds)
        if isinstance(decision, ResolveFirst):
            return decision
        acked = self._lease_for(request, value, subnet, ACTIVE, now, seconds)
        self.leases.put(acked)
        if request.memberships:
            self.billing.bill(request.memberships, address)
        decision.persist.append(acked)
        if scopes.one_lease_per_client:
            decision.persist += self._release_others(request, address, now)
        return decision

    def _release_others(self, request: Request, kept: IPv4Address, now: float) -> list[Lease]:
        """`one-lease-per-client`: the client's other active leases end when it takes a new one."""
        released = []
        for lease in self.leases.client_leases(request.client_id, request.mac):
            if lease.ip != kept and lease.state is ACTIVE:
                released.append(lease.copy(state=RELEASED, expires=now))
                self.leases.put(released[-1])
        return released

    @staticmethod
    def _on_ingress(server_id: int | None, request: Request) -> bool:
        """Whether option 54, as an int (None: not 4 bytes long), is an address of the link the request came in on."""
        return server_id is not None and any(address_value(a.ip) == server_id for a in request.ingress.addresses)

    def _drop_offers(self, request: Request) -> None:
        for lease in self.leases.client_leases(request.client_id, request.mac):
            if lease.state is OFFERED:
                self.leases.put(lease.copy(state=EXPIRED))

    def _nak(self, request: Request, address: IPv4Address, log: list[str], why: str) -> Decision:
        subnet = request.segment.subnets[0]
        if not subnet.param("authoritative", False):
            log[0] += f": {why} (not authoritative, ignored)"
            return Decision(drop_reason="not-authoritative", log=log)
        log.append(f"DHCPNAK on {address} to {format_mac(request.mac)} via {request.via}")
        ctx = ReplyContext(request.message, NAK, request.server_ip, ScopeStack(subnet), subnet)
        reply = build_reply(ctx, NAK_STEPS)
        if request.message.giaddr != ZERO:
            reply.flags |= 0x8000  # RFC 2131 4.3.2: a relayed NAK asks the relay to broadcast
        return Decision(reply, reply_destination(request, reply, nak=True), request.server_ip, log=log)

    # -- BOOTP -------------------------------------------------------------------------------------

    def _bootp(self, request: Request, now: float) -> Decision:
        log = [f"BOOTREQUEST from {format_mac(request.mac)} via {request.via}"]
        fixed = self.hosts.fixed_address(request.hosts, request.segment.subnets) if request.hosts else None
        if fixed is not None:
            host, address = fixed
            subnet = self._subnet_of(address)
            scopes = self._scopes(request, subnet, host)
            if not scopes.param("bootp", True):
                return self._bootp_disallowed(log)
            ctx = ReplyContext(request.message, None, request.server_ip, scopes, subnet, address, host=host)
            reply = build_reply(ctx, FIXED_BOOTP_STEPS)
            log.append(f"BOOTREPLY for {address} to {host.name} ({format_mac(request.mac)}) via {request.via}")
            return Decision(reply, reply_destination(request, reply, nak=False), request.server_ip, log=log)
        address = self._choose_bootp_address(request, now)
        if address is None:
            log[0] += ": BOOTP from dynamic client and no dynamic leases"
            return Decision(drop_reason="no-dynamic-bootp-leases", log=log)
        (scope, subnet), host = self._placed(address_value(address)), request.host
        scopes = self._scopes(request, scope, host)
        if not scopes.param("bootp", True):
            return self._bootp_disallowed(log)
        current = self.leases.get(address)
        if current is None or not request.owns(current):  # held while a get-lease-hostnames lookup runs
            self.leases.put(self._lease_for(request, address, subnet, OFFERED, now, self.offer_hold))
        decision = self._answer(request, None, address, scopes, subnet, host, log, now)
        if isinstance(decision, ResolveFirst):
            return decision
        leased = self._lease_for(request, address, subnet, ACTIVE, now, bootp_lease_seconds(scopes))
        self.leases.put(leased)
        decision.persist.append(leased)
        return decision

    @staticmethod
    def _bootp_disallowed(log: list[str]) -> Decision:
        log[0] += ": bootp disallowed"
        return Decision(drop_reason="bootp-disallowed", log=log)

    def _choose_bootp_address(self, request: Request, now: float) -> IPv4Address | None:
        """The client's own lease in a BOOTP range of its segment, else a free address of one."""
        for lease in self._latest_first(request):
            if (lease.state not in OUT_OF_USE and self._allowed(request, lease.ip)
                    and self._in_bootp_range(lease.ip)):
                return lease.ip
        for subnet in request.segment.subnets:
            for pool in subnet.pools:
                if self._permitted(pool, request):
                    found = self._free_bootp_address(pool, request, now)
                    if found is not None:
                        return found
        return None

    def _in_bootp_range(self, address: IPv4Address) -> bool:
        state = self.leases.pool_of(address)
        return state is not None and any(address in address_range for address_range in bootp_ranges(state.pool))

    def _free_bootp_address(self, pool: Pool, request: Request, now: float) -> IPv4Address | None:
        ranges = bootp_ranges(pool)
        if len(ranges) == len(pool.ranges):
            return self.leases.allocate(pool, lambda value: self._available(request, value, now), now)
        # Plain and dynamic-bootp ranges in one pool: the pool's cursor must not skip the plain ones for DHCP
        # clients, so the dynamic-bootp ranges are searched directly (BOOTP clients are few).
        for address_range in ranges:
            for value in range(int(address_range.first), int(address_range.last) + 1):
                if self._available(request, value, now):
                    return IPv4Address(value)
        return None

    # -- DECLINE, RELEASE, INFORM -----------------------------------------------------------------

    def _decline(self, request: Request, now: float) -> Decision:
        wanted = request.message.options.get(OPTION_REQUESTED_ADDRESS)
        if wanted is None or len(wanted) != 4:
            return Decision(drop_reason="decline-without-address")
        address = IPv4Address(wanted)
        lease = self.leases.get(address)
        log = f"DHCPDECLINE of {address} from {request.client_via}"
        if lease is None or not request.owns(lease) or lease.state not in HELD:
            return Decision(drop_reason="decline-unknown-lease", log=[log + ": not found"])
        declined = lease.copy(state=DECLINED, starts=now, expires=now + self.decline_probation)
        self.leases.put(declined)
        return Decision(persist=[declined], log=[log + ": abandoned"])

    def _release(self, request: Request, now: float) -> Decision:
        address = request.message.ciaddr
        lease = self.leases.get(address)
        found = lease is not None and request.owns(lease) and lease.state in HELD
        log = [f"DHCPRELEASE of {address} from {request.client_via} ({'found' if found else 'not found'})"]
        if not found:
            return Decision(drop_reason="release-unknown-lease", log=log)
        released = lease.copy(state=RELEASED, expires=now)
        self.leases.put(released)
        return Decision(persist=[released], log=log)

    def _inform(self, request: Request, now: float) -> Decision:
        message = request.message
        log = [f"DHCPINFORM from {message.ciaddr} via {request.via}"]
        subnet = self._subnet_of(message.ciaddr) or request.segment.subnets[0]
        host = request.host
        ctx = ReplyContext(message, ACK, request.server_ip, self._scopes(request, subnet, host), subnet,
                           host=host)
        reply = build_reply(ctx)
        log.append(f"DHCPACK to {message.ciaddr} ({format_mac(request.mac)}) via {request.via}")
        return Decision(reply, reply_destination(request, reply, nak=False), request.server_ip, log=log)

    # -- shared -----------------------------------------------------------------------------------

    def _answer_fixed(self, request: Request, kind: MessageType, host: Host, address: IPv4Address, log: list[str],
                      now: float) -> Decision:
        """The OFFER or ACK giving `host` its fixed address."""
        subnet = self._subnet_of(address)
        return self._answer(request, kind, address, self._scopes(request, subnet, host), subnet, host, log, now)

    def _answer(self, request: Request, kind: MessageType | None, address: IPv4Address, scopes: ScopeStack,
                subnet: Subnet | None, host: Host | None, log: list[str], now: float,
                lease_time: int | None = None) -> Decision:
        """The OFFER, ACK or (kind None) BOOTREPLY giving `address` (for `lease_time` seconds, by default as
        configured), or `ResolveFirst` while get-lease-hostnames waits for the address's name."""
        lease_hostname = None
        if scopes.get_lease_hostnames and not self._configured_host_name(scopes, host):
            answer = self.reverse_names.get(address, now)
            if answer is None:
                return ResolveFirst(address=address)
            if answer.name is None:
                log.insert(0, f"No hostname for {address}")
            lease_hostname = answer.name
        if kind is not None and lease_time is None:
            lease_time = scopes.lease_time(request.message.options.get(OPTION_LEASE_TIME))
        ctx = ReplyContext(request.message, kind, request.server_ip, scopes, subnet, address, lease_time, host,
                           lease_hostname)
        reply = build_reply(ctx) if kind is not None else build_reply(ctx, BOOTP_STEPS)
        log.append(f"{ANSWER_VERBS[kind]} {address_text(address_value(address))} to {request.client_via}")
        # a relayed request's destination is its placement's, without a call
        return Decision(reply, request.relay or reply_destination(request, reply, False), request.server_ip, [], log)

    @staticmethod
    def _configured_host_name(scopes: ScopeStack, host: Host | None) -> bool:
        return OPTION_HOST_NAME in scopes.options() or (host is not None and scopes.param("use-host-decl-names", False))

    def _scopes(self, request: Request, scope, host: Host | None) -> ScopeStack:
        """host > classes > the address's scope chain, with the `if` branches that hold for this request.

        Each handler asks once per request; a stack that no `if` block or option expression can change is kept
        across requests, until the configuration or the reservations change."""
        if request.memberships:
            class_scopes = tuple(m.scope for m in request.memberships)
            key = (scope, host, class_scopes)
        else:
            class_scopes, key = (), (scope, host)
        stack = self._static_stacks.get(key)
        if stack is None:
            stack = ScopeStack(scope, host, class_scopes, request.packet)
            if not stack.depends_on_packet:
                self._static_stacks[key] = stack
        return stack

    @staticmethod
    def _lease_for(request: Request, address: IPv4Address | int, subnet: Subnet | None, state: LeaseState,
                   now: float, seconds: float) -> Lease:
        ifname, ifindex, _, vlan, inner_vlan = request.ingress   # unpacked at once: each field read is a descriptor call
        relay = address_value(request.message.giaddr) if request.segment.relayed else None
        link = shared_link(None if subnet is None else subnet.id, ifname, ifindex, vlan, inner_vlan, relay)
        agent = request.agent
        # positional, in the constructor's order: keywords cost more
        return Lease(address, state, now, now + seconds, request.mac, request.client_id, request.hostname, link,
                     agent.get(SUBOPTION_CIRCUIT_ID), agent.get(SUBOPTION_REMOTE_ID))

    def _subnet_of(self, address: IPv4Address) -> Subnet | None:
        return self.subnets.subnet_for(address)

    def _placed(self, value: int) -> tuple[Scope | None, Subnet | None]:
        """The innermost scope of an address given as an int (its pool, else its subnet) and its subnet."""
        state = self.leases.pool_of(value)
        if state is None:
            subnet = self._subnet_of(shared_address(value))
            return subnet, subnet
        return state.pool, self._pool_subnets[state.pool]

    _handlers = {
        MessageType.DISCOVER: _discover,
        MessageType.REQUEST: _request,
        MessageType.DECLINE: _decline,
        MessageType.RELEASE: _release,
        MessageType.INFORM: _inform,
    }
