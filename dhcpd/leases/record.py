"""The lease record shared by the engine (in memory) and the store (in the database).

Plain data, no SQL: the engine keeps these in its in-memory index, and the store persists them. Times are
POSIX seconds (float) so that the engine can be fed any clock.

Where a lease was seen (subnet, link, VLAN ids, relay) is one `LeaseLink`, the same object (`shared_link`) for
every lease seen at the same place, loaded by the store or made by the engine: six fields a lease were 48 of the
~620 bytes each lease held in memory.
A lease holds its address as an int (`address`), the key of the engine's address table, and makes `ip`, the
IPv4Address, when asked: one kept in each lease cost 48 bytes more, and building it cost a Python __init__ per
lease loaded. Likewise the client id 01 + MAC, which most clients send, is held as `ETHERNET_MAC` in
`stored_client_id` and made from the MAC when `client_id` is read: bytes of its own cost 40 more. The packet
path and the index read `stored_client_id`, an attribute, not the property, which is a Python call.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address
from operator import attrgetter

from dhcpd.wire.addresses import address_value, shared_address


class LeaseState(str, Enum):
    OFFERED = "offered"        # held for a client between OFFER and REQUEST; not durable
    ACTIVE = "active"          # acknowledged; durable before the ACK leaves
    RELEASED = "released"      # client sent RELEASE; reusable, but remembered for that client
    EXPIRED = "expired"        # end time passed; reusable, remembered for that client
    DECLINED = "declined"      # client sent DECLINE; out of use until `expires` (probation)
    FREE = "free"              # known to be free (e.g. imported as free)
    BACKUP = "backup"          # imported from an isc failover pair; treated as free
    ABANDONED = "abandoned"    # imported from isc; out of use until `expires`


@dataclass(frozen=True, slots=True)
class LeaseLink:
    """Where a lease was seen."""

    subnet: str | None = None          # network of the subnet, e.g. "10.0.0.0/24"
    interface: str | None = None       # link it came through (the served link: VLAN device, bridge, bond)
    ifindex: int | None = None
    vlan: int | None = None            # 802.1Q id (outer for QinQ)
    inner_vlan: int | None = None      # inner id for QinQ
    relay: IPv4Address | None = None   # giaddr


NOWHERE = LeaseLink()
# `stored_client_id` of a lease whose client id is the hardware type 1 (Ethernet) byte and its MAC.
ETHERNET_MAC = object()

# Each place where leases were seen, by its values (the relay's address as an int: an IPv4Address's hash is a
# Python method). Bounded: emptied when full, which only costs sharing.
_shared_links: dict[tuple, LeaseLink] = {}
SHARED_LINKS_LIMIT = 65536


def shared_link(subnet: str | None, interface: str | None, ifindex: int | None, vlan: int | None,
                inner_vlan: int | None, relay: int | None) -> LeaseLink:
    """The `LeaseLink` of these values (`relay`: the relay's address as an int), one object for all the leases
    seen there: the store's rows and the engine's requests each bring their own copies of the values."""
    key = (subnet, interface, ifindex, vlan, inner_vlan, relay)
    link = _shared_links.get(key)
    if link is None:
        if len(_shared_links) >= SHARED_LINKS_LIMIT:
            _shared_links.clear()
        link = _shared_links[key] = LeaseLink(subnet, interface, ifindex, vlan, inner_vlan,
                                              None if relay is None else shared_address(relay))
    return link


class Lease:
    """One address's lease. Equal when every value is; built and copied with the same keyword arguments."""

    # in the constructor's order, which `copy`, equality and repr read them in
    __slots__ = ("address", "state", "starts", "expires", "mac", "stored_client_id", "hostname", "link",  # noqa: RUF023
                 "circuit_id", "remote_id")

    # positional, in this order, on the packet path and at load: keywords cost more
    def __init__(self, ip: IPv4Address | int, state: LeaseState, starts: float, expires: float,
                 mac: bytes | None = None, client_id: bytes | None = None, hostname: str | None = None,
                 link: LeaseLink = NOWHERE, circuit_id: bytes | None = None, remote_id: bytes | None = None) -> None:
        """`ip`: the address, or its int value."""
        self.address: int = ip if ip.__class__ is int else address_value(ip)
        self.state = state
        self.starts = starts
        self.expires = expires
        self.mac = mac
        self.stored_client_id = (ETHERNET_MAC if client_id is not None and mac is not None and client_id == b"\x01" + mac
                                 else client_id)
        self.hostname = hostname
        self.link = link
        self.circuit_id = circuit_id          # option 82 sub-option 1
        self.remote_id = remote_id            # option 82 sub-option 2

    @property
    def ip(self) -> IPv4Address:
        return shared_address(self.address)

    @property
    def client_id(self) -> bytes | None:
        stored = self.stored_client_id
        return b"\x01" + self.mac if stored is ETHERNET_MAC else stored

    subnet = property(attrgetter("link.subnet"))
    interface = property(attrgetter("link.interface"))
    ifindex = property(attrgetter("link.ifindex"))
    vlan = property(attrgetter("link.vlan"))
    inner_vlan = property(attrgetter("link.inner_vlan"))
    relay = property(attrgetter("link.relay"))

    def copy(self, **changes) -> Lease:
        """This lease with `changes`, keyword arguments of the constructor."""
        values = dict(zip(_ARGUMENTS, _copied(self)))
        values.update(changes)
        return Lease(**values)

    def __eq__(self, other: object) -> bool:
        return _stored(self) == _stored(other) if other.__class__ is Lease else NotImplemented

    __hash__ = None   # mutable

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(_ARGUMENTS, _values(self)))
        return f"Lease({shown})"


# The constructor's arguments; a lease's values in that order: as read, as the constructor takes them again (the
# address as its int), and as stored.
_ARGUMENTS = ("ip", "state", "starts", "expires", "mac", "client_id", "hostname", "link", "circuit_id", "remote_id")
_values = attrgetter(*_ARGUMENTS)
_copied = attrgetter("address", *_ARGUMENTS[1:])
_stored = attrgetter(*Lease.__slots__)
