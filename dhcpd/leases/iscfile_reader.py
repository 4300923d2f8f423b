"""Reader of ISC dhcpd.leases(5) files: yields the final state of every address as a `Lease`.

isc appends a new declaration each time a lease changes and rewrites the file from time to time, so the last
declaration of an address is the one in effect. The reader therefore reads the whole file before yielding
anything, keeping one `Lease` per address (about 0.5 KB each, so roughly 500 MB at 1,000,000 addresses;
superseded declarations cost nothing once replaced). Leases come out in order of each address's first
appearance.

The file is read in chunks of a few megabytes (never whole) and cut into top-level items by one regular
expression; each lease body is cut into statements by another, so Python runs once per statement, not per
token. A lease laid out exactly as isc writes it takes the fast path first (iscfile_fast: one expression and
one Python call per lease, about twice as fast); anything else comes here. Files are decoded as latin-1, so one
character is one byte: progress is reported in bytes.

Read and used: `starts`, `ends` (`never` is +inf), `binding state`, `hardware`, `uid`, `client-hostname`,
`option agent.circuit-id`, `option agent.remote-id`, and the old `abandoned;`. A lease without `binding
state` (files older than isc 3.0) is taken as active; one without `starts`/`ends` gets 0 for them.
Checked, then ignored: `tstp`, `tsfp`, `atsfp`, `cltt`, `next binding state`, `rewind binding state`,
`set NAME = VALUE`, other `option`s, `on EVENTS { ... }`, `reserved`, `bootp`, `dynamic-bootp`, `billing`,
the old `ddns-*` and `vendor-class-identifier` statements; the hardware type is not kept (MAC bytes are).
Skipped at the top level: `server-duid`, `authoring-byte-order`, `lease-id-format`, `failover peer`,
`host`, `group`, `subgroup`, `class` and `subclass` (OMAPI objects, including `{ deleted; }` rubouts).

Errors: a bad entry does not stop the reading. Every problem is collected as `FILE line N: message`, and
when there is at least one, `ParseError` is raised at the end with all of them, before any lease is
yielded: an operator migrating wants the complete list, and never a half-imported file.
"""

from __future__ import annotations

import io
import os
import re
import socket
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address
from typing import TextIO

from dhcpd.leases.iscfile_fast import FAST_LEASE, fast_lease
from dhcpd.leases.iscfile_syntax import (
    BINDING_STATES, COMMENT, SET_VALUE_PATTERN, STRING, DateReader, SyntaxProblem, parse_data, parse_hex_list, unquote,
)
from dhcpd.leases.record import Lease, LeaseState

Progress = Callable[[int, int], None]

CHUNK_CHARS = 8 << 20
LONGEST_ITEM = 1 << 20   # no real top-level item is this long: failing to match one this long is an error
BRACE_DEPTH = 8          # `on` blocks with nested `if`s inside a lease
MESSAGE_PROBLEMS = 100   # problems spelled out in str(ParseError); all of them stay in .problems

# Patterns in the "unrolled loop" form (plain run, then (special item, plain run)*): much faster in `re`.
_SKIP = rf"(?:\s++|{COMMENT})*+"
_STATEMENT_TEXT = rf'[^;{{}}"#]*+(?:(?:{STRING}|{COMMENT})[^;{{}}"#]*+)*+'
_BLOCK_TEXT = rf'[^{{}}"#]*+(?:(?:{STRING}|{COMMENT})[^{{}}"#]*+)*+'


def _braced(depth: int) -> str:
    """Balanced braces nested at most `depth` deep (Python's `re` has no recursion)."""
    pattern = rf"\{{{_BLOCK_TEXT}\}}"
    for _ in range(depth - 1):
        pattern = rf"\{{{_BLOCK_TEXT}(?:{pattern}{_BLOCK_TEXT})*+\}}"
    return pattern


TOP_ITEM = re.compile(
    rf"{_SKIP}(?P<head>{_STATEMENT_TEXT})"
    rf"(?:;|\{{(?P<body>{_BLOCK_TEXT}(?:{_braced(BRACE_DEPTH - 1)}{_BLOCK_TEXT})*+)\}})",
    re.DOTALL,
)
ONLY_SKIP = re.compile(_SKIP)
STATEMENT = re.compile(rf"{_SKIP}({_STATEMENT_TEXT})([;{{}}]|\Z)", re.DOTALL)
STRIP_COMMENTS = re.compile(rf"({STRING})|{COMMENT}", re.DOTALL)
RESYNC = re.compile(r"^[ \t]*lease[ \t]", re.MULTILINE)
SET_VALUE = re.compile(SET_VALUE_PATTERN, re.DOTALL)

HARDWARE_TYPES = frozenset({"ethernet", "token-ring", "fddi", "infiniband"})
SKIPPED_TOP = frozenset({
    "server-duid", "authoring-byte-order", "lease-id-format", "failover",
    "host", "group", "subgroup", "class", "subclass",
})
IGNORED_IN_LEASE = frozenset({
    "reserved", "bootp", "dynamic-bootp", "billing", "ddns-fwd-name", "ddns-rev-name", "ddns-client-fqdn",
    "ddns-text", "vendor-class-identifier",
})
AGENT_FIELDS = {"agent.circuit-id": "circuit_id", "agent.remote-id": "remote_id"}


class ParseError(ValueError):
    """Problems found in a lease file; `.problems` holds every `FILE line N: message` line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MESSAGE_PROBLEMS]
        if len(problems) > MESSAGE_PROBLEMS:
            shown = [*shown, f"... and {len(problems) - MESSAGE_PROBLEMS} more problems"]
        super().__init__("\n".join(shown))


def parse_leases(
    path_or_text_stream: str | os.PathLike[str] | TextIO,
    *,
    filename: str | None = None,
    progress: Progress | None = None,
) -> Iterator[Lease]:
    """Every address's final lease in a dhcpd.leases file (a path, or a text stream opened as latin-1).

    `filename` names the file in messages (default: the path or the stream's name). `progress(done, total)`
    is called after each chunk with characters read and the file size (0 when the size is unknown).
    Raises `ParseError` listing every problem, before yielding anything, if the file has any.
    """
    if isinstance(path_or_text_stream, (str, os.PathLike)):
        with open(path_or_text_stream, encoding="latin-1", newline="") as stream:
            reader = _Reader(stream, filename or os.fspath(path_or_text_stream), progress)
            leases = reader.read()
    else:
        stream = path_or_text_stream
        reader = _Reader(stream, filename or getattr(stream, "name", "<stream>"), progress)
        leases = reader.read()
    yield from leases


def _stream_size(stream: TextIO) -> int:
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return 0


class _Reader:
    """One pass over one file: chunked scanning, per-address deduplication, and the list of problems."""

    def __init__(self, stream: TextIO, filename: str, progress: Progress | None) -> None:
        self.stream = stream
        self.filename = filename
        self.progress = progress
        self.total = _stream_size(stream)
        self.dates = DateReader()
        self.problems: list[str] = []
        self.leases: dict[str, Lease] = {}
        self.buffer = ""
        self.buffer_line = 1     # line number at buffer[0]
        self.done = 0            # characters consumed before buffer[0] plus those in it
        self.eof = False

    def read(self) -> list[Lease]:
        position = 0
        resyncing = False
        while True:
            if resyncing:
                position, resyncing = self._resync(position)
                continue
            fast = FAST_LEASE.match(self.buffer, position)
            if fast is not None and self._fast_lease(fast):
                position = fast.end()
                continue
            match = TOP_ITEM.match(self.buffer, position)
            incomplete = match is None or match.end() == len(self.buffer)
            if incomplete and not self.eof and (match is not None or len(self.buffer) - position < LONGEST_ITEM):
                position = self._refill(position)
                continue
            if match is None:
                if ONLY_SKIP.fullmatch(self.buffer, position):
                    break
                position = ONLY_SKIP.match(self.buffer, position).end()
                self._problem(position, "cannot read this statement: unbalanced braces, an unterminated string "
                                        "or a missing ';'; skipping to the next lease")
                position, resyncing = position + 1, True
                continue
            self._item(match)
            position = match.end()
        if self.progress is not None:
            self.progress(self.done, self.total or self.done)
        if self.problems:
            raise ParseError(self.problems)
        return list(self.leases.values())

    def _refill(self, position: int) -> int:
        """Drop the consumed text, append the next chunk; returns the position in the new buffer."""
        self.buffer_line += self.buffer.count("\n", 0, position)
        chunk = self.stream.read(CHUNK_CHARS)
        self.eof = not chunk
        self.buffer = self.buffer[position:] + chunk
        self.done += len(chunk)
        if self.progress is not None and chunk:
            self.progress(self.done, self.total)
        return 0

    def _resync(self, position: int) -> tuple[int, bool]:
        """After an unreadable item: the next line that starts a lease, reading more text if needed."""
        found = RESYNC.search(self.buffer, position)
        if found is not None:
            return found.start(), False
        if self.eof:
            return len(self.buffer), False
        last_line = self.buffer.rfind("\n", position) + 1
        return self._refill(max(position, last_line)), True

    def _line(self, position: int) -> int:
        return self.buffer_line + self.buffer.count("\n", 0, position)

    def _problem(self, position: int, message: str) -> None:
        self.problems.append(f"{self.filename} line {self._line(position)}: {message}")

    def _fast_lease(self, match: re.Match[str]) -> bool:
        """Take a lease in isc's own layout; False leaves a bad value to the general parser, which reports it."""
        try:
            self.leases[match.group(1)] = fast_lease(match, self.dates)
        except (SyntaxProblem, OSError):
            return False
        return True

    def _item(self, match: re.Match[str]) -> None:
        head = match.group("head")
        if "#" in head:
            head = STRIP_COMMENTS.sub(r"\1", head)
        words = head.split()
        keyword = words[0] if words else ""
        body = match.group("body")
        if keyword == "lease":
            if body is None or len(words) != 2:
                self._problem(match.start("head"), "expected `lease ADDRESS { ... }`")
                return
            self._lease(words[1], match)
        elif keyword not in SKIPPED_TOP:
            what = f"statement {keyword!r}" if keyword else "an empty statement"
            self._problem(match.start("head"), f"unexpected {what} at the top level of a lease file")

    def _lease(self, address: str, match: re.Match[str]) -> None:
        try:
            ip = IPv4Address(int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big"))
        except OSError:
            self._problem(match.start("head"), f"bad lease address {address!r}: expected A.B.C.D")
            return
        body = match.group("body")
        builder = _LeaseBuilder(ip, self.dates)
        try:
            builder.add_all(STATEMENT.findall(body))
        except SyntaxProblem as error:
            offset = _statement_offset(body, builder.index)
            self._problem(match.start("body") + offset, f"lease {address}: {error}")
            return
        self.leases[address] = builder.lease()


def _statement_offset(body: str, index: int) -> int:
    """Where the index-th statement of a lease body starts (computed again only when reporting a problem)."""
    for number, found in enumerate(STATEMENT.finditer(body)):
        if number == index:
            return found.start(1)
    return len(body)


class _LeaseBuilder:
    """Collects the statements of one lease declaration into the fields of a `Lease`."""

    def __init__(self, ip: IPv4Address, dates: DateReader) -> None:
        self.ip = ip
        self.dates = dates
        self.fields: dict[str, object] = {"state": LeaseState.ACTIVE, "starts": 0.0, "expires": 0.0}
        self.skipping = 0   # depth inside an `on ... { }` block
        self.index = 0      # the statement being read, for the position of a problem

    def lease(self) -> Lease:
        return Lease(ip=self.ip, **self.fields)

    def add_all(self, statements: list[tuple[str, str]]) -> None:
        """Read (statement, terminator) pairs; the loop is hot, so the common form is dispatched here."""
        for self.index, (statement, terminator) in enumerate(statements):
            if terminator == ";" and not self.skipping:
                keyword, _, rest = statement.partition(" ")
                handler = _HANDLERS.get(keyword)
                if handler is not None and "#" not in rest:
                    handler(self, rest.strip())
                    continue
            self.add(statement, terminator)

    def add(self, statement: str, terminator: str) -> None:
        """Any statement, in any spacing, with comments, blocks and errors."""
        if self.skipping:
            self.skipping += {"{": 1, "}": -1}.get(terminator, 0)
            return
        if "#" in statement:
            statement = STRIP_COMMENTS.sub(r"\1", statement)
        words = statement.split(None, 1)
        if not words:
            if terminator:
                raise SyntaxProblem("empty statement")
            return
        keyword = words[0]
        rest = words[1].strip() if len(words) == 2 else ""
        if terminator == "{":
            if keyword != "on":
                raise SyntaxProblem(f"unexpected block after {keyword!r}")
            self.skipping = 1
            return
        if terminator != ";":
            raise SyntaxProblem(f"missing ';' after {statement.strip()!r}")
        handler = _HANDLERS.get(keyword)
        if handler is None:
            if keyword not in IGNORED_IN_LEASE:
                raise SyntaxProblem(f"unknown statement {keyword!r}")
            return
        handler(self, rest)

    def _starts(self, rest: str) -> None:
        self.fields["starts"] = self.dates.parse(rest)

    def _ends(self, rest: str) -> None:
        self.fields["expires"] = self.dates.parse(rest)

    def _other_date(self, rest: str) -> None:
        self.dates.parse(rest)

    def _binding(self, rest: str) -> None:
        self.fields["state"] = _binding_state(rest, "binding state")

    def _later_binding(self, rest: str) -> None:
        if not rest.startswith("binding"):
            raise SyntaxProblem(f"expected `binding state STATE`, got {rest!r}")
        _binding_state(rest[len("binding"):].strip(), "next/rewind binding state")

    def _hardware(self, rest: str) -> None:
        words = rest.split()
        if len(words) != 2 or words[0] not in HARDWARE_TYPES:
            raise SyntaxProblem(f"expected `hardware ethernet XX:XX:...`, got {rest!r}")
        self.fields["mac"] = parse_hex_list(words[1])

    def _uid(self, rest: str) -> None:
        self.fields["client_id"] = parse_data(rest)

    def _client_hostname(self, rest: str) -> None:
        self.fields["hostname"] = unquote(rest).decode("utf-8", "replace")

    def _option(self, rest: str) -> None:
        words = rest.split(None, 1)
        field = AGENT_FIELDS.get(words[0]) if words else None
        if field is not None:
            if len(words) != 2:
                raise SyntaxProblem(f"option {words[0]} has no value")
            self.fields[field] = parse_data(words[1].strip())

    def _set(self, rest: str) -> None:
        if not SET_VALUE.fullmatch(rest):
            raise SyntaxProblem(f"expected `set NAME = VALUE`, got {rest!r}")

    def _abandoned(self, rest: str) -> None:
        self.fields["state"] = LeaseState.ABANDONED


def _binding_state(rest: str, what: str) -> LeaseState:
    words = rest.split()
    if len(words) != 2 or words[0] != "state" or words[1] not in BINDING_STATES:
        raise SyntaxProblem(f"expected `{what}` and one of {', '.join(BINDING_STATES)}, got {rest!r}")
    return BINDING_STATES[words[1]]


_HANDLERS: dict[str, Callable[[_LeaseBuilder, str], None]] = {
    "starts": _LeaseBuilder._starts,
    "ends": _LeaseBuilder._ends,
    "tstp": _LeaseBuilder._other_date,
    "tsfp": _LeaseBuilder._other_date,
    "atsfp": _LeaseBuilder._other_date,
    "cltt": _LeaseBuilder._other_date,
    "binding": _LeaseBuilder._binding,
    "next": _LeaseBuilder._later_binding,
    "rewind": _LeaseBuilder._later_binding,
    "hardware": _LeaseBuilder._hardware,
    "uid": _LeaseBuilder._uid,
    "client-hostname": _LeaseBuilder._client_hostname,
    "option": _LeaseBuilder._option,
    "set": _LeaseBuilder._set,
    "abandoned": _LeaseBuilder._abandoned,
}
