"""Counters the server keeps and the API serves: packets by message type, drops by reason, per link."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from dhcpd.wire.message import MessageType

# Counter names by message type, made once rather than formatted for every packet.
MESSAGE_NAMES = {kind: f"DHCP{kind.name}" for kind in MessageType}
RECEIVED_NAMES = {**MESSAGE_NAMES, None: "BOOTP"}   # a request's message_type: None is BOOTP (or no known type)
# A reply's name by its option 53 value, read without the message_type property (absent: a BOOTREPLY).
SENT_NAMES = {bytes([kind]): name for kind, name in MESSAGE_NAMES.items()}


@dataclass(slots=True)
class LinkCounters:
    """One link's counters; a server with thousands of links keeps thousands, most of which never drop a packet,
    so `drops` is made at the link's first drop."""

    requests: int = 0
    replies: int = 0
    drops: Counter[str] | None = None


@dataclass
class Stats:
    # By message type name, e.g. "DHCPDISCOVER", counted for every packet: a defaultdict, because a Counter defines
    # __delitem__, which makes every `counter[name] += 1` store go through a Python-level __setitem__ lookup
    # (callgrind: 965 instructions more per count). Their views only read the counted names (dict(), items()).
    received: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    sent: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    drops: Counter[str] = field(default_factory=Counter)       # by reason
    links: defaultdict[str, LinkCounters] = field(default_factory=lambda: defaultdict(LinkCounters))
    commit_failures: int = 0

    def drop(self, reason: str, link: str | None = None) -> None:
        self.drops[reason] += 1
        if link is not None:
            counters = self.links[link]
            if counters.drops is None:
                counters.drops = Counter()
            counters.drops[reason] += 1
