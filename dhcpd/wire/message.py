"""The decoded DHCP message (RFC 2131 section 2) as the engine sees it.

Addresses are `IPv4Address`; `chaddr` holds only the `hlen` significant bytes; `options` maps option code
to its raw value bytes, in the order they arrived (option overload already resolved, long options already
concatenated per RFC 3396). The codec in `dhcpd.wire.codec` turns bytes into this and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from ipaddress import IPv4Address

BOOTREQUEST = 1
BOOTREPLY = 2
BROADCAST_FLAG = 0x8000
ZERO = IPv4Address(0)


class MessageType(IntEnum):
    """Option 53 values (RFC 2132 9.6)."""

    DISCOVER = 1
    OFFER = 2
    REQUEST = 3
    DECLINE = 4
    ACK = 5
    NAK = 6
    RELEASE = 7
    INFORM = 8


@dataclass(slots=True)
class DhcpMessage:
    op: int = BOOTREQUEST
    htype: int = 1
    hlen: int = 6
    hops: int = 0
    xid: int = 0
    secs: int = 0
    flags: int = 0
    ciaddr: IPv4Address = ZERO
    yiaddr: IPv4Address = ZERO
    siaddr: IPv4Address = ZERO
    giaddr: IPv4Address = ZERO
    chaddr: bytes = b""
    sname: bytes = b""
    file: bytes = b""
    options: dict[int, bytes] = field(default_factory=dict)
    # (n, wire): the first n entries of `options` as `encode` writes them, made once with a reply's shared options
    # (dhcpd.engine.reply) and kept by every reply made from them; options may only be added after those n.
    encoded_options: tuple[int, bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def message_type(self) -> MessageType | None:
        """Option 53, or None for BOOTP or an unknown value."""
        return MESSAGE_TYPES.get(self.options.get(53))

    @property
    def broadcast(self) -> bool:
        return bool(self.flags & BROADCAST_FLAG)


# Option 53's value bytes -> MessageType: one dictionary read on every packet, instead of an Enum call.
MESSAGE_TYPES: dict[bytes | None, MessageType] = {bytes([kind]): kind for kind in MessageType}
