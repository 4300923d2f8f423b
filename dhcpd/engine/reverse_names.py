"""`get-lease-hostnames`: the reverse DNS name of a leased address, sent as option 12 (host-name).

isc-dhcpd calls gethostbyaddr() for the address of every offer and acknowledgement when
`get-lease-hostnames` is on and the configuration gives the client no host-name (neither `option host-name`
nor `use-host-decl-names`); it logs "No hostname for A" when there is none. The engine stays sans-I/O: it
keeps the answers in `ReverseNames`, and for an address it has no fresh answer for it returns `ResolveFirst`
instead of a reply. The server looks the name up off the event loop and calls `Engine.name_resolved`,
which records the answer and handles the same message again, now answered from the cache.

An answer is kept for `REVERSE_NAME_TTL` seconds, so a client's offer and acknowledgement cost one lookup
and a changed DNS record shows within that time.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import NamedTuple

from dhcpd.engine.types import Decision
from dhcpd.wire.message import ZERO

REVERSE_NAME_TTL = 60.0
MAX_CACHED_NAMES = 65536     # past this many, stale answers are swept out


@dataclass(slots=True)
class ResolveFirst(Decision):
    """No reply yet: look up the name of `address`, then call `Engine.name_resolved` with it."""

    address: IPv4Address = ZERO


class ReverseName(NamedTuple):
    name: str | None           # None: the address has no name
    learned: float


class ReverseNames:
    """Reverse DNS answers by address, each fresh for REVERSE_NAME_TTL seconds."""

    def __init__(self) -> None:
        self._answers: dict[IPv4Address, ReverseName] = {}

    def get(self, address: IPv4Address, now: float) -> ReverseName | None:
        """The fresh answer for `address`, or None when it has to be looked up."""
        answer = self._answers.get(address)
        if answer is None or now - answer.learned > REVERSE_NAME_TTL:
            return None
        return answer

    def learn(self, address: IPv4Address, name: str | None, now: float) -> None:
        if len(self._answers) >= MAX_CACHED_NAMES:
            self._answers = {address: answer for address, answer in self._answers.items()
                             if now - answer.learned <= REVERSE_NAME_TTL}
        self._answers[address] = ReverseName(name, now)
