"""`lease limit`: which active leases each limited class (or spawned subclass) is paying for.

A lease is billed, when it is acknowledged, to the first of the client's classes that has a limit. A new
lease is refused while that class already pays for `lease limit` live leases; renewing a billed lease
never is. Bills live in memory: after a restart a class fills up again as its clients renew.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address

from dhcpd.engine.classify import Membership
from dhcpd.engine.lease_index import LeaseIndex
from dhcpd.leases.record import LeaseState


def limited(memberships: Iterable[Membership]) -> Membership | None:
    """The class a new lease of this client would be billed to."""
    for membership in memberships:  # a loop, not next() over a generator: most clients have no class at all
        if membership.client_class.lease_limit is not None:
            return membership
    return None


class Billing:
    def __init__(self) -> None:
        self._billed: dict[tuple[str, bytes | None], set[IPv4Address]] = {}

    def full(self, memberships: Iterable[Membership], leases: LeaseIndex, now: float) -> Membership | None:
        """The limited class that cannot pay for one more lease, or None when a new lease is allowed."""
        membership = limited(memberships)
        if membership is None:
            return None
        billed = self._billed.get(membership.billing_key, set())
        billed -= {ip for ip in billed if not _live(leases, ip, now)}
        return membership if len(billed) >= membership.client_class.lease_limit else None

    def bill(self, memberships: Iterable[Membership], address: IPv4Address) -> None:
        membership = limited(memberships)
        if membership is not None:
            self._billed.setdefault(membership.billing_key, set()).add(address)


def _live(leases: LeaseIndex, ip: IPv4Address, now: float) -> bool:
    lease = leases.get(ip)
    return lease is not None and lease.state is LeaseState.ACTIVE and lease.expires > now
