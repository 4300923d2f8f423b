"""Bytes <-> DhcpMessage: the BOOTP/DHCP message codec (RFC 2131 section 2, RFC 2132, RFC 3396).

`decode` turns a UDP payload into a `DhcpMessage` or raises `MalformedPacket`, and nothing else, on any
input. `encode` turns a `DhcpMessage` into a UDP payload no longer than the size the client accepts.

Decisions:
- A payload of exactly 236 bytes, or one whose magic cookie field is all zero, is plain BOOTP (RFC 951):
  it decodes with `options == {}`. Any other value where the cookie belongs is "bad-magic"; 237 to 239
  bytes (a cut cookie) are "short".
- Options after the end option (255) are ignored; a missing end option is accepted when the last option
  ends exactly at the end of its field.
- Repeated instances of one code are concatenated in arrival order, across the options field, then `file`,
  then `sname` (RFC 2132 9.3 and RFC 3396). Option 52 is consumed by the decoder: the result never holds it,
  and an overloaded `file`/`sname` decodes as b"". Outside an overload, `sname` and `file` are cut at their
  first NUL.
- `max_size` is the largest DHCP message (UDP payload, IP and UDP headers not counted) the reply may have;
  `reply_size_limit` derives it from a request's option 57. It is never taken below 548 bytes, the size
  every client must accept (RFC 2131 section 2: a 312-byte options field).
"""

from __future__ import annotations

from functools import lru_cache
from struct import Struct

from dhcpd.wire.addresses import from_bytes, shared_address
from dhcpd.wire.message import ZERO, DhcpMessage

MAGIC_COOKIE = b"\x63\x82\x53\x63"
FIXED_HEADER_SIZE = 236
OPTIONS_OFFSET = FIXED_HEADER_SIZE + len(MAGIC_COOKIE)
MIN_MESSAGE_SIZE = 548
MIN_BOOTP_SIZE = 300
IP_UDP_HEADER_SIZE = 28
MAX_HLEN = 16

OPTION_PAD = 0
OPTION_END = 255
OPTION_OVERLOAD = 52
OPTION_MESSAGE_TYPE = 53
OPTION_SERVER_ID = 54
OPTION_MAX_MESSAGE_SIZE = 57
OPTION_RELAY_AGENT = 82
_LEADING_PLACEHOLDERS: dict[int, bytes | None] = {OPTION_MESSAGE_TYPE: None, OPTION_SERVER_ID: None}
# Never dropped to make a reply fit: message type, server id, subnet mask, lease time, relay agent info.
UNDROPPABLE_OPTIONS = frozenset({53, 54, 1, 51, 82})

CHADDR_OFFSET = 28
SNAME_OFFSET, SNAME_SIZE = 44, 64
FILE_OFFSET, FILE_SIZE = 108, 128
OVERLOAD_FILE, OVERLOAD_SNAME = 1, 2

# op to giaddr, then the first bytes of sname and file (NUL: the field is empty, and is not even sliced) and, in the
# longer form, the magic cookie: all that decode reads of the fixed fields but chaddr, in one unpack
_HEADER = Struct("!BBBBIHHIIII16xB63xB")
_HEADER_AND_COOKIE = Struct(_HEADER.format + "127x4s")
NO_COOKIE = bytes(len(MAGIC_COOKIE))   # where the cookie belongs in a BOOTP message with a full vendor field
_HEADER_WITH_COOKIE = Struct("!BBBBIHHIIII16s64s128s4s")
_BYTE = [bytes((value,)) for value in range(256)]
_END = _BYTE[OPTION_END]
_PAD_OR_END = frozenset({OPTION_PAD, OPTION_END})
_PLAIN_OPTION_CODES = frozenset(range(1, 255)) - {OPTION_OVERLOAD}
_PADDING = [bytes(size) for size in range(MIN_BOOTP_SIZE - OPTIONS_OFFSET)]
ENCODED_OPTIONS_LIMIT = 4096   # remembered sets of reply options: about two per link (OFFER and ACK)


class MalformedPacket(ValueError):
    """A payload that is not a valid BOOTP/DHCP message; `reason` is a short name for drop counters.

    Reasons: "short", "bad-op", "bad-hlen", "bad-magic", "option-overrun", "bad-overload",
    "option82-overrun".
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class MessageTooLarge(ValueError):
    """The options that may not be dropped do not fit in the reply's maximum size."""


def _parse_options(buf: bytes, start: int, stop: int, options: dict[int, bytes]) -> None:
    """Add the TLV options in buf[start:stop] to `options`, concatenating repeated codes (RFC 3396)."""
    i = start
    while i < stop:
        code = buf[i]
        if code in _PAD_OR_END:   # one test for the common case, an option with a length
            if code == OPTION_END:
                return
            i += 1
            continue
        value_start = i + 2
        if value_start > stop:
            raise MalformedPacket("option-overrun", f"option {code} has no length byte")
        end = value_start + buf[i + 1]
        if end > stop:
            raise MalformedPacket("option-overrun", f"option {code} runs {end - stop} bytes past its field")
        if code in options:
            options[code] += buf[value_start:end]
        else:
            options[code] = buf[value_start:end]
        i = end


def decode(payload: bytes) -> DhcpMessage:
    """Decode one BOOTP/DHCP message from a UDP payload; raise MalformedPacket if it is not one."""
    if type(payload) is not bytes:
        payload = bytes(payload)
    size = len(payload)
    if size >= OPTIONS_OFFSET:
        fields = _HEADER_AND_COOKIE.unpack_from(payload)
    elif size >= FIXED_HEADER_SIZE:   # no cookie (plain BOOTP), or a cut one: "short" once op and hlen are checked
        fields = (*_HEADER.unpack_from(payload), None)
    else:
        raise MalformedPacket("short", f"{size} bytes, a BOOTP message has at least {FIXED_HEADER_SIZE}")
    op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, sname_start, file_start, cookie = fields
    if op != 1 and op != 2:
        raise MalformedPacket("bad-op", f"op {op}")
    if hlen > MAX_HLEN:
        raise MalformedPacket("bad-hlen", f"hlen {hlen}")
    # NUL-terminated strings; most requests have neither
    sname = payload[SNAME_OFFSET : SNAME_OFFSET + SNAME_SIZE].partition(b"\0")[0] if sname_start else b""
    file = payload[FILE_OFFSET : FILE_OFFSET + FILE_SIZE].partition(b"\0")[0] if file_start else b""
    options: dict[int, bytes] = {}
    if cookie == MAGIC_COOKIE:
        _parse_options(payload, OPTIONS_OFFSET, size, options)
        if OPTION_OVERLOAD in options:
            overload = _parse_overloaded_fields(payload, options)
            if overload & OVERLOAD_FILE:
                file = b""
            if overload & OVERLOAD_SNAME:
                sname = b""
    elif cookie is None:
        if size > FIXED_HEADER_SIZE:
            raise MalformedPacket("short", f"{size} bytes cut the magic cookie")
    elif cookie != NO_COOKIE:
        raise MalformedPacket("bad-magic", cookie.hex())
    return DhcpMessage(
        op,
        htype,
        hlen,
        hops,
        xid,
        secs,
        flags,
        # mostly 0.0.0.0 (all but giaddr in a relayed request): a test costs a tenth of a cache hit
        shared_address(ciaddr) if ciaddr else ZERO,
        shared_address(yiaddr) if yiaddr else ZERO,
        shared_address(siaddr) if siaddr else ZERO,
        shared_address(giaddr) if giaddr else ZERO,
        payload[CHADDR_OFFSET : CHADDR_OFFSET + hlen],
        sname,
        file,
        options,
    )


def _parse_overloaded_fields(payload: bytes, options: dict[int, bytes]) -> int:
    """Read options from `file` then `sname` as option 52 says (RFC 2132 9.3); return option 52's value.

    Option 52 is removed from `options`, also when an overloaded field repeats it.
    """
    value = options.pop(OPTION_OVERLOAD)
    if len(value) != 1 or not 1 <= value[0] <= 3:
        raise MalformedPacket("bad-overload", f"option 52 value {value.hex()}")
    overload = value[0]
    if overload & OVERLOAD_FILE:
        _parse_options(payload, FILE_OFFSET, FILE_OFFSET + FILE_SIZE, options)
    if overload & OVERLOAD_SNAME:
        _parse_options(payload, SNAME_OFFSET, SNAME_OFFSET + SNAME_SIZE, options)
    options.pop(OPTION_OVERLOAD, None)
    return overload


def option82_suboptions(value: bytes) -> dict[int, bytes]:
    """Split a relay agent information value (RFC 3046) into sub-options; repeated codes are concatenated."""
    suboptions: dict[int, bytes] = {}
    i, stop = 0, len(value)
    while i < stop:
        code = value[i]
        if i + 1 >= stop:
            raise MalformedPacket("option82-overrun", f"sub-option {code} has no length byte")
        end = i + 2 + value[i + 1]
        if end > stop:
            raise MalformedPacket("option82-overrun", f"sub-option {code} runs {end - stop} bytes past option 82")
        suboptions[code] = suboptions.get(code, b"") + bytes(value[i + 2 : end])
        i = end
    return suboptions


def reply_size_limit(request: DhcpMessage) -> int:
    """The `max_size` for a reply to `request`: option 57 minus IP and UDP headers, at least 548."""
    value = request.options.get(OPTION_MAX_MESSAGE_SIZE)
    if value is None or len(value) != 2:
        return MIN_MESSAGE_SIZE
    return max(MIN_MESSAGE_SIZE, from_bytes(value, "big") - IP_UDP_HEADER_SIZE)


def _option_bytes(code: int, value: bytes) -> bytes:
    """One option as TLV bytes; a value longer than 255 bytes becomes several instances (RFC 3396)."""
    chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [b""]
    return b"".join(bytes((code, len(chunk))) + chunk for chunk in chunks)


def _options_that_fit(encoded: bytes, budget: int) -> bytes:
    """The `encoded` options (wire order, no end option), dropped from the end (sparing UNDROPPABLE_OPTIONS) until
    they fit in `budget`. The instances of one long option follow each other, and are kept or dropped together."""
    kept: list[bytes] = []
    i = 0
    while i < len(encoded):
        end = i + 2 + encoded[i + 1]
        if kept and kept[-1][0] == encoded[i]:
            kept[-1] += encoded[i:end]
        else:
            kept.append(encoded[i:end])
        i = end
    total = len(encoded)
    for index in range(len(kept) - 1, -1, -1):
        if total <= budget:
            break
        if kept[index][0] not in UNDROPPABLE_OPTIONS:
            total -= len(kept.pop(index))
    if total > budget:
        raise MessageTooLarge(f"options that may not be dropped need {total} bytes, {budget} available")
    return b"".join(kept)


@lru_cache(maxsize=ENCODED_OPTIONS_LIMIT)
def _encoded_options(codes: tuple[int, ...], values: tuple[bytes | None, ...]) -> bytes:
    """The wire form of the options `codes` with `values` (None: not sent): 53 and 54 first, then the rest in their
    order. Remembered: a reply's options are mostly the same values again and again (those of its scope stack, our
    address), and finding them by one key costs half of building them."""
    if not _PLAIN_OPTION_CODES.issuperset(codes):
        code = next(code for code in codes if code not in _PLAIN_OPTION_CODES)
        raise ValueError(f"option {code} cannot be encoded as a plain option")
    # A short option is three pieces (code, length, value), so that nothing is copied before the one join.
    pieces = []
    for code, value in (_LEADING_PLACEHOLDERS | dict(zip(codes, values))).items():
        if value is not None:
            pieces += (_BYTE[code], _BYTE[len(value)], value) if len(value) <= 255 else (_option_bytes(code, value),)
    return b"".join(pieces)


def _options_wire(codes: tuple[int, ...], values: tuple[bytes | None, ...]) -> bytes:
    """The wire form of the options `codes` with `values` (no end option): 53 and 54 first, then the rest in their
    order, a relay agent option (82) that comes last kept last."""
    echo = b""
    if codes and codes[-1] == OPTION_RELAY_AGENT and values[-1] is not None:
        # the relay agent's option, echoed last (RFC 3046), is each client's own: encoded apart, not remembered
        echo = _option_bytes(OPTION_RELAY_AGENT, values[-1])
        codes, values = codes[:-1], values[:-1]
    try:
        wire = _encoded_options(codes, values)
    except TypeError:  # a value that cannot be a key
        wire = _encoded_options.__wrapped__(codes, values)
    return wire + echo if echo else wire


def prepared_options(options: dict[int, bytes]) -> tuple[int, bytes]:
    """`DhcpMessage.encoded_options` for messages whose options start with `options`: encoded once for them all."""
    return len(options), _options_wire(tuple(options), tuple(options.values()))


def encode(message: DhcpMessage, *, max_size: int = MIN_MESSAGE_SIZE) -> bytes:
    """Encode `message` as a UDP payload of at most max(max_size, 548) bytes and at least 300 bytes.

    Options that do not fit are dropped from the end, never 53, 54, 1, 51 or 82; if those alone do not
    fit, MessageTooLarge is raised. `sname` and `file` are NUL padded, and cut to 64 and 128 bytes.
    """
    # The addresses' `_ip` slots (what addresses.address_value reads) read here: four calls cost ~1,500 instructions
    # per message (callgrind), a tenth of encoding a reply.
    header = _HEADER_WITH_COOKIE.pack(
        message.op,
        message.htype,
        message.hlen,
        message.hops,
        message.xid,
        message.secs,
        message.flags,
        message.ciaddr._ip,
        message.yiaddr._ip,
        message.siaddr._ip,
        message.giaddr._ip,
        message.chaddr,
        message.sname,
        message.file,
        MAGIC_COOKIE,
    )
    options = message.options
    prepared = message.encoded_options
    if prepared is None:
        wire = _options_wire(tuple(options), tuple(options.values()))
    else:
        count, wire = prepared
        if len(options) > count:   # options added after the prepared ones (a reply's host name, relay agent echo)
            wire += _options_wire(tuple(options)[count:], tuple(options.values())[count:])
    size = OPTIONS_OFFSET + len(wire) + 1
    if size > max_size and size > MIN_MESSAGE_SIZE:
        budget = max(max_size, MIN_MESSAGE_SIZE) - OPTIONS_OFFSET - 1
        wire = _options_that_fit(wire, budget)
        size = OPTIONS_OFFSET + len(wire) + 1
    return b"".join((header, wire, _END, _PADDING[MIN_BOOTP_SIZE - size] if size < MIN_BOOTP_SIZE else b""))
