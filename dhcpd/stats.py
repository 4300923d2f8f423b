"""Counters the server keeps and the API serves: packets by message type, drops by reason, per link."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dhcpd.wire.message import MessageType

# Counter names by message type, made once rather than formatted for every packet.
MESSAGE_NAMES = {kind: f"DHCP{kind.name}" for kind in MessageType}


@dataclass
class LinkCounters:
    requests: int = 0
    replies: int = 0
    drops: Counter[str] = field(default_factory=Counter)


@dataclass
class Stats:
    received: Counter[str] = field(default_factory=Counter)    # by message type name, e.g. "DHCPDISCOVER"
    sent: Counter[str] = field(default_factory=Counter)
    drops: Counter[str] = field(default_factory=Counter)       # by reason
    links: dict[str, LinkCounters] = field(default_factory=dict)
    commit_failures: int = 0

    def link(self, name: str) -> LinkCounters:
        counters = self.links.get(name)
        if counters is None:
            counters = self.links[name] = LinkCounters()
        return counters

    def drop(self, reason: str, link: str | None = None) -> None:
        self.drops[reason] += 1
        if link is not None:
            self.link(link).drops[reason] += 1
