"""The DECLINE flood guard: DECLINEs cannot take a whole pool out of use.

A DHCPDECLINE puts its address on probation (a day, as isc-dhcpd), so a client that declines every offer
can empty a pool in seconds. Two limits stop that before the engine sees the message:
- per subnet, at most `max_fraction` (default 25%) of its pool addresses may be declined at once;
- per client MAC, a token bucket (default 10/h).
A DECLINE over either limit is dropped and counted as "decline-limit"; the client's lease stays as it was.

The guard keeps the declined addresses per subnet (learnt from the leases at start and from each decline
it lets through). Leases leave probation, or are deleted through the API, without the guard hearing of
it, so when a subnet looks full the set is checked against the engine's lease index: at most once a
second per subnet, which bounds the cost of a flood to one pass over at most `max_fraction` of a pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network

from dhcpd.config.model import Subnet
from dhcpd.engine.engine import Engine
from dhcpd.leases.record import Lease, LeaseState
from dhcpd.ratelimit import Rate, RateLimiter
from dhcpd.wire.message import DhcpMessage

DEFAULT_MAX_FRACTION = 0.25
DEFAULT_PER_MAC = Rate(10, 3600.0)
DROP_REASON = "decline-limit"
OPTION_REQUESTED_ADDRESS = 50
RECHECK_INTERVAL = 1.0     # monotonic seconds between re-checks of one subnet's declined set


class DeclineGuard:
    def __init__(self, max_fraction: float = DEFAULT_MAX_FRACTION, per_mac: Rate | None = DEFAULT_PER_MAC) -> None:
        if not 0.0 <= max_fraction <= 1.0:
            raise ValueError(f"decline fraction {max_fraction} is not between 0 and 1")
        self.max_fraction = max_fraction
        self.per_mac = RateLimiter(per_mac) if per_mac is not None else None
        self._declined: dict[IPv4Network, set[IPv4Address]] = {}
        self._rechecked: dict[IPv4Network, float] = {}

    def track(self, engine: Engine, leases: Iterable[Lease]) -> None:
        """Remember which of `leases` are declined (at start, from the lease database)."""
        for lease in leases:
            if lease.state is LeaseState.DECLINED:
                self._remember(engine, lease.ip)

    def refusal(self, message: DhcpMessage, engine: Engine, now: float, monotonic_now: float) -> str | None:
        """DROP_REASON when this DECLINE is over a limit, else None. `now` is the engine's clock."""
        if self.per_mac is not None and not self.per_mac.allow(message.chaddr, monotonic_now):
            return DROP_REASON
        wanted = message.options.get(OPTION_REQUESTED_ADDRESS)
        subnet = engine.subnets.subnet_for(IPv4Address(wanted)) if wanted is not None and len(wanted) == 4 else None
        if subnet is None:
            return None     # the engine drops it as a decline without a known address
        declined = self._declined.get(subnet.network, set())
        cap = int(self.max_fraction * pool_capacity(subnet))
        if len(declined) >= cap and monotonic_now - self._rechecked.get(subnet.network, -RECHECK_INTERVAL) >= RECHECK_INTERVAL:
            self._rechecked[subnet.network] = monotonic_now
            declined -= {ip for ip in declined if not still_declined(engine.leases.get(ip), now)}
        return DROP_REASON if len(declined) >= cap else None

    def record(self, engine: Engine, persisted: Iterable[Lease]) -> None:
        """Note the addresses a DECLINE the guard let through actually put on probation."""
        for lease in persisted:
            if lease.state is LeaseState.DECLINED:
                self._remember(engine, lease.ip)

    def declined_in(self, network: IPv4Network) -> int:
        return len(self._declined.get(network, ()))

    def _remember(self, engine: Engine, ip: IPv4Address) -> None:
        subnet = engine.subnets.subnet_for(ip)
        if subnet is not None:
            self._declined.setdefault(subnet.network, set()).add(ip)


def pool_capacity(subnet: Subnet) -> int:
    return sum(len(address_range) for pool in subnet.pools for address_range in pool.ranges)


def still_declined(lease: Lease | None, now: float) -> bool:
    return lease is not None and lease.state is LeaseState.DECLINED and lease.expires > now
