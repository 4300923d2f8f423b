"""IPv4 addresses made, formatted and packed once and remembered, in bounded caches.

Packets carry the same few addresses again and again (0.0.0.0, relays, our own, the address just offered), and
`ipaddress` does all three in Python: building an IPv4Address costs ten cache hits, str() 1.7 µs, `.packed`
several times a hit. Used by the codec and framing, the engine's log lines and replies, and the UDP send path.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from ipaddress import IPv4Address

# IPv4Address(value) for an integer `value`.
shared_address: Callable[[int], IPv4Address] = lru_cache(maxsize=4096)(IPv4Address)


@lru_cache(maxsize=4096)
def address_text(address: IPv4Address) -> str:
    return str(address)


@lru_cache(maxsize=1024)
def address_bytes(address: IPv4Address) -> bytes:
    return address.packed
