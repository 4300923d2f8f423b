"""Lexical pieces of ISC dhcpd.leases(5) shared by the reader and the writer: strings, hex lists, dates, states.

Quoted strings follow isc's lexer: `\\t \\r \\n \\b`, octal `\\NNN` (1-3 digits), hex `\\xHH` (1-2 digits), and any
other escaped character stands for itself. isc writes non-printable bytes as three-digit octal escapes and
prints byte lists (MAC, option 82) as colon-separated hex, sometimes with one digit per byte (`1:a:ff`).
"""

from __future__ import annotations

import calendar
import codecs
import math
import re
import time

from dhcpd.leases.record import LeaseState

STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
COMMENT = r"#[^\n]*+"
HEX_LIST = re.compile(r"[0-9A-Fa-f]{1,2}(?::[0-9A-Fa-f]{1,2})*")
SET_VALUE_PATTERN = rf"[\w.-]+\s*=\s*(?:{STRING}|%-?\d+|true|false|{HEX_LIST.pattern})"   # `set NAME = VALUE`
QUOTED = re.compile(STRING, re.DOTALL)
WEEKDAYS = frozenset("0123456")
DAY = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
CLOCK = re.compile(r"(\d{1,2}):(\d{1,2}):(\d{1,2})")
EPOCH = re.compile(r"epoch\s+(\d+)")
NEVER = "never"
ISC_DATE_LENGTH = len("3 2024/01/03 10:00:00")
BINDING_STATES = {
    "active": LeaseState.ACTIVE,
    "free": LeaseState.FREE,
    "backup": LeaseState.BACKUP,
    "abandoned": LeaseState.ABANDONED,
    "expired": LeaseState.EXPIRED,
    "released": LeaseState.RELEASED,
    "reset": LeaseState.FREE,
    "reserved": LeaseState.ACTIVE,   # failover flags that isc also accepts as states of an allocated lease
    "bootp": LeaseState.ACTIVE,
}

# Escapes that Python's escape decoder reads exactly as isc does; any other one takes the slower path.
_UNUSUAL_ESCAPE = re.compile(r'\\(?:[^0-7"\\trnb]|[4-7][0-7]{2})')
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
_NAMED_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "b": "\b"}
# Printable ASCII except the quote and the backslash: written as is; every other byte as an octal escape.
_PLAIN_BYTES = frozenset(range(0x20, 0x7F)) - {ord('"'), ord("\\")}
_QUOTE_TABLE = [chr(byte) if byte in _PLAIN_BYTES else f"\\{byte:03o}" for byte in range(256)]


class SyntaxProblem(ValueError):
    """A value that does not have the expected form; the reader adds the file and line."""


def _unescape_one(match: re.Match[str]) -> str:
    octal, hexadecimal, other = match.groups()
    if octal is not None:
        return chr(int(octal, 8) & 0xFF)
    if hexadecimal is not None:
        return chr(int(hexadecimal, 16))
    return _NAMED_ESCAPES.get(other, other)


def unquote(token: str) -> bytes:
    """The bytes of a quoted string token (text read as latin-1, so each character is one byte)."""
    if not QUOTED.fullmatch(token):
        raise SyntaxProblem(f"expected a quoted string, got {token!r}")
    return string_bytes(token)


def string_bytes(token: str) -> bytes:
    """`unquote` for a token already known to match `STRING`."""
    body = token[1:-1]
    if "\\" not in body:
        return _to_bytes(body)
    if _UNUSUAL_ESCAPE.search(body) is None:
        return codecs.escape_decode(_to_bytes(body))[0]
    return _to_bytes(_ESCAPE.sub(_unescape_one, body))


def _to_bytes(text: str) -> bytes:
    """Text read as latin-1 back to its bytes; characters beyond latin-1 (from a caller's stream) as UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def parse_hex_list(token: str) -> bytes:
    """`00:1a:2b` or `0:1a:b` to bytes."""
    if not HEX_LIST.fullmatch(token):
        raise SyntaxProblem(f"expected colon-separated hex bytes, got {token!r}")
    return hex_list_bytes(token)


def hex_list_bytes(token: str) -> bytes:
    """`parse_hex_list` for a token already known to match `HEX_LIST`."""
    if len(token) == 3 * token.count(":") + 2:  # the common case: every byte written with two digits
        return bytes.fromhex(token.replace(":", ""))
    return bytes(int(part, 16) for part in token.split(":"))


def parse_data(token: str) -> bytes:
    """A data value as isc writes it: a quoted string or a colon-separated hex list."""
    return unquote(token) if token.startswith('"') else parse_hex_list(token)


def data_bytes(token: str) -> bytes:
    """`parse_data` for a token already known to match `STRING` or `HEX_LIST`."""
    return string_bytes(token) if token.startswith('"') else hex_list_bytes(token)


def quote(data: bytes) -> str:
    """The quoted-string token for `data`, non-printable bytes as octal escapes (isc's `quotify_buf`)."""
    return '"' + "".join([_QUOTE_TABLE[byte] for byte in data]) + '"'


def format_hex_list(data: bytes) -> str:
    return ":".join(f"{byte:02x}" for byte in data)


def format_data(data: bytes) -> str:
    """A quoted string when every byte is printable, else a hex list, as isc prints option 82 values."""
    if data and all(byte in _PLAIN_BYTES for byte in data):
        return quote(data)
    return format_hex_list(data)


class DateReader:
    """Parses `W YYYY/MM/DD HH:MM:SS` (UTC), `epoch N` and `never` into POSIX seconds (`never` is +inf).

    Days and times of day are validated once and cached: a lease file holds few distinct days and at most
    86,400 distinct times of day, and parsing each one afresh would dominate the reading time.
    """

    def __init__(self) -> None:
        self._days: dict[str, int] = {}
        self._clocks: dict[str, int] = {}

    def parse(self, text: str) -> float:
        words = text.split()
        if len(words) != 3 or words[0] not in WEEKDAYS:
            return self._parse_other(text)
        day_start = self._days.get(words[1])
        if day_start is None:
            day_start = self._days[words[1]] = self._day_start(words[1], text)
        clock = self._clocks.get(words[2])
        if clock is None:
            clock = self._clocks[words[2]] = self._clock(words[2], text)
        return float(day_start + clock)

    def parse_isc(self, text: str) -> float:
        """`parse`, faster for the fixed-width `W YYYY/MM/DD HH:MM:SS` that isc writes, once its day and time
        of day have been seen."""
        if len(text) == ISC_DATE_LENGTH:
            day_start = self._days.get(text[2:12])
            clock = self._clocks.get(text[13:])
            if day_start is not None and clock is not None and text[0] in WEEKDAYS and text[1] == " ":
                return float(day_start + clock)
        return self.parse(text)

    @staticmethod
    def _day_start(day: str, text: str) -> int:
        match = DAY.fullmatch(day)
        if match is None:
            raise SyntaxProblem(f"bad date {text!r}: expected `W YYYY/MM/DD HH:MM:SS`")
        year, month, day_of_month = (int(part) for part in match.groups())
        if not 1 <= month <= 12 or not 1 <= day_of_month <= calendar.monthrange(year, month)[1]:
            raise SyntaxProblem(f"bad calendar day in date {text!r}")
        return calendar.timegm((year, month, day_of_month, 0, 0, 0))

    @staticmethod
    def _clock(clock: str, text: str) -> int:
        match = CLOCK.fullmatch(clock)
        if match is None:
            raise SyntaxProblem(f"bad date {text!r}: expected `W YYYY/MM/DD HH:MM:SS`")
        hours, minutes, seconds = (int(part) for part in match.groups())
        if hours > 23 or minutes > 59 or seconds > 60:
            raise SyntaxProblem(f"bad time of day in date {text!r}")
        return hours * 3600 + minutes * 60 + seconds

    @staticmethod
    def _parse_other(text: str) -> float:
        if text == NEVER:
            return math.inf
        match = EPOCH.fullmatch(text)
        if match is None:
            raise SyntaxProblem(f"expected a date `W YYYY/MM/DD HH:MM:SS`, `epoch N` or `never`, got {text!r}")
        return float(match.group(1))


def format_date(seconds: float) -> str:
    """isc's default db-time-format: weekday (0 = Sunday) and UTC date; +inf is `never`."""
    if seconds == math.inf:
        return NEVER
    moment = time.gmtime(int(seconds))
    return f"{(moment.tm_wday + 1) % 7} {time.strftime('%Y/%m/%d %H:%M:%S', moment)}"
