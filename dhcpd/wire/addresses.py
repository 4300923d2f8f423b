"""IPv4 addresses made, formatted and packed once and remembered, in bounded caches, and read as integers.

Packets carry the same few addresses again and again (0.0.0.0, relays, our own, the address just offered), and
`ipaddress` does all three in Python: building an IPv4Address costs ten cache hits, str() 1.7 µs, `.packed`
several times a hit. Even int(address) runs a Python method (`__int__`, about 4,000 instructions a call), so
`address_value` reads the integer that method returns without one. Used by the codec and framing, the engine's
log lines, replies and lease index, and the UDP send path; they read big-endian fields with `from_bytes`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from ipaddress import IPv4Address
from operator import attrgetter
from socket import inet_aton, inet_ntoa
from struct import Struct

# IPv4Address(value) for an integer `value`.
shared_address: Callable[[int], IPv4Address] = lru_cache(maxsize=4096)(IPv4Address)

# int(address) for an IPv4Address `address`: the slot IPv4Address.__int__ returns, read by C code.
address_value: Callable[[IPv4Address], int] = attrgetter("_ip")

# int.from_bytes, looked up once: read from the class at each call, the lookup costs more than converting a short
# value (about 560 instructions a call, measured with callgrind).
from_bytes: Callable[[bytes, str], int] = int.from_bytes

_ADDRESS = Struct("!I")


@lru_cache(maxsize=4096)
def address_text(value: int) -> str:
    """str(IPv4Address(value)) as ipaddress writes it, keyed by the integer: an IPv4Address key would cost its
    Python __hash__. Written by C (inet_ntoa, the same dotted decimal): 3,400 instructions against 7,200 for
    ipaddress's join of four str() calls, paid for every address not in the cache, such as each one newly offered."""
    return inet_ntoa(_ADDRESS.pack(value))


def text_value(text: str) -> int:
    """int(IPv4Address(text)) for a dotted quad as `address_text` writes it, read by C (inet_aton) with no
    IPv4Address made."""
    return from_bytes(inet_aton(text), "big")


@lru_cache(maxsize=1024)
def address_bytes(address: IPv4Address) -> bytes:
    return address.packed
