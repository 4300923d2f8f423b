"""The lease record shared by the engine (in memory) and the store (in the database).

Plain data, no SQL: the engine keeps these in its in-memory index, and the store persists them. Times are
POSIX seconds (float) so that the engine can be fed any clock.

Where a lease was seen (subnet, link, VLAN ids, relay) is one `LeaseLink`, which the store and the engine share
among the leases seen at the same place: six fields a lease were 48 of the ~620 bytes each lease held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from ipaddress import IPv4Address
from operator import attrgetter


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


@dataclass(slots=True)
class Lease:
    ip: IPv4Address
    state: LeaseState
    starts: float
    expires: float
    mac: bytes | None = None
    client_id: bytes | None = None
    hostname: str | None = None
    link: LeaseLink = NOWHERE
    circuit_id: bytes | None = None    # option 82 sub-option 1
    remote_id: bytes | None = None     # option 82 sub-option 2

    subnet = property(attrgetter("link.subnet"))
    interface = property(attrgetter("link.interface"))
    ifindex = property(attrgetter("link.ifindex"))
    vlan = property(attrgetter("link.vlan"))
    inner_vlan = property(attrgetter("link.inner_vlan"))
    relay = property(attrgetter("link.relay"))

    def copy(self, **changes) -> Lease:
        return replace(self, **changes)
