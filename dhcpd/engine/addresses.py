"""Addresses as text and as bytes, remembered: `ipaddress` computes both in Python on every call (str() takes
1.7 µs), and the same few addresses (relays, our own, the one just offered) appear in reply after reply and in
log line after log line."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Address


@lru_cache(maxsize=4096)
def address_text(address: IPv4Address) -> str:
    return str(address)


@lru_cache(maxsize=1024)
def address_bytes(address: IPv4Address) -> bytes:
    return address.packed
