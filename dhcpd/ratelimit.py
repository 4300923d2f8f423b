"""Token-bucket rate limits: per client MAC and per link, so a storm from one port cannot starve the others.

A `Rate` is written `N/UNIT` (UNIT s, m or h), e.g. `10/s` or `5/h`: N requests may come at once and the
bucket refills at N per UNIT. `RateLimiter.allow(key, now)` is O(1): one dictionary lookup and an
`OrderedDict.move_to_end`. Memory is bounded by `max_keys`: when a new key would exceed it, the bucket
touched longest ago is evicted. Evicting an idle bucket loses nothing (it had refilled to full anyway), so the
buckets are kept in two generations, and when a new key comes at least `full_after` seconds after the current
generation began, the older one is dropped whole and the current one becomes the older: every bucket dropped
was last touched more than `full_after` ago, and has refilled. A bucket is about 200 bytes; the buckets of
every client seen used to stay (50,000 clients: 10 MiB).

`RequestLimits` applies the per-MAC limit first (a flooding client is cut by its own bucket without eating
its link's budget), then the per-link one; a link is the served interface plus VLAN tags and relay
address, so relayed segments behind one router port each get their own bucket.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from dhcpd.engine.types import Ingress
from dhcpd.wire.message import DhcpMessage

UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}
RATE_SYNTAX = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*([smh])\s*$")
DEFAULT_MAX_KEYS = 65536
DROP_MAC = "rate-limit-mac"
DROP_LINK = "rate-limit-link"


@dataclass(frozen=True, slots=True)
class Rate:
    """`count` requests at once, refilled at `count` per `period` seconds."""

    count: float
    period: float

    @property
    def per_second(self) -> float:
        return self.count / self.period


def parse_rate(text: str) -> Rate | None:
    """`10/s`, `600/m`, `5/h` -> Rate; `off` or `0/s` -> None (no limit); anything else raises ValueError."""
    if text.strip().lower() == "off":
        return None
    match = RATE_SYNTAX.match(text)
    if match is None:
        raise ValueError(f"rate {text!r} is not N/s, N/m, N/h or off")
    count = float(match.group(1))
    return Rate(count, UNIT_SECONDS[match.group(2)]) if count > 0 else None


class RateLimiter:
    """One token bucket per key; at most `max_keys` buckets, the least recently used evicted first."""

    def __init__(self, rate: Rate, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.burst = max(1.0, rate.count)
        self.refill = rate.per_second
        self.max_keys = max_keys
        self.full_after = _seconds_to_refill(self.burst, self.refill)
        # key -> [tokens, last update]; touched since the current generation began, and in the one before only
        self._buckets: OrderedDict[Hashable, list[float]] = OrderedDict()
        self._older: OrderedDict[Hashable, list[float]] = OrderedDict()
        self._generation_began = -math.inf

    def __len__(self) -> int:
        return len(self._buckets) + len(self._older)

    def allow(self, key: Hashable, now: float) -> bool:
        """Take one token from `key`'s bucket; False when it is empty. `now` is a monotonic time."""
        buckets = self._buckets
        bucket = buckets.get(key)
        if bucket is None:
            bucket = self._older.pop(key, None)
            if bucket is None:
                if now - self._generation_began >= self.full_after:
                    self._older, self._buckets = buckets, OrderedDict()
                    self._generation_began = now
                if len(self._buckets) + len(self._older) >= self.max_keys:
                    (self._older or self._buckets).popitem(last=False)
                self._buckets[key] = [self.burst - 1.0, now]
                return True
            buckets[key] = bucket
        else:
            buckets.move_to_end(key)
        tokens, updated = bucket
        if now > updated:   # comparisons, not min() and max(): this runs for every request
            tokens += (now - updated) * self.refill
            if tokens > self.burst:
                tokens = self.burst
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return True
        bucket[0] = tokens
        return False


def _seconds_to_refill(burst: float, refill: float) -> float:
    """The fewest seconds after which an empty bucket is full again, with float rounding."""
    seconds = burst / refill
    while seconds * refill < burst:
        seconds = math.nextafter(seconds, math.inf)
    return seconds


class RequestLimits:
    """The per-MAC and per-link limits of the packet path; either may be None (off)."""

    def __init__(self, per_mac: Rate | None, per_link: Rate | None, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.per_mac = RateLimiter(per_mac, max_keys) if per_mac is not None else None
        self.per_link = RateLimiter(per_link, max_keys) if per_link is not None else None

    def refusal(self, message: DhcpMessage, ingress: Ingress, now: float) -> str | None:
        """The drop reason when `message` is over a limit, else None (and one token of each is spent)."""
        if self.per_mac is not None and not self.per_mac.allow(message.chaddr, now):
            return DROP_MAC
        if self.per_link is not None:
            link = (ingress.ifname, ingress.vlan, ingress.inner_vlan, message.giaddr)
            if not self.per_link.allow(link, now):
                return DROP_LINK
        return None
