"""The fast path of the dhcpd.leases reader: one regular expression for a lease block laid out as isc writes it.

isc-dhcpd writes every lease the same way: one statement per line, two spaces of indent, statements in a
fixed order (`starts`, `ends`, `tstp`, `tsfp`, `atsfp`, `cltt`, `binding state`, `next binding state`, `rewind
binding state`, `hardware`, `uid`, `set`s, agent options, `client-hostname`), each at most once. `FAST_LEASE`
matches exactly that layout in one call, so Python runs once per lease instead of once per statement.
Anything else (comments, other spacing or order, `on` blocks, other options, errors) does not match, and the
reader's general parser takes that item: the fast path decides nothing the general one would decide otherwise.
"""

from __future__ import annotations

import re
import socket
from ipaddress import IPv4Address

from dhcpd.leases.iscfile_syntax import (
    BINDING_STATES, HEX_LIST, SET_VALUE_PATTERN, STRING, DateReader, data_bytes, hex_list_bytes, string_bytes,
)
from dhcpd.leases.record import Lease, LeaseState

_DATE = r"[0-6] \d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}|never|epoch \d+"
_STATE = "|".join(BINDING_STATES)
_DATA = rf"{STRING}|{HEX_LIST.pattern}"

FAST_LEASE = re.compile(
    r"\s*+lease (\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}) \{\n"
    rf"(?:  starts ({_DATE});\n)?"
    rf"(?:  ends ({_DATE});\n)?"
    rf"(?:  tstp ({_DATE});\n)?"
    rf"(?:  tsfp ({_DATE});\n)?"
    rf"(?:  atsfp ({_DATE});\n)?"
    rf"(?:  cltt ({_DATE});\n)?"
    rf"(?:  binding state ({_STATE});\n)?"
    rf"(?:  next binding state (?:{_STATE});\n)?"
    rf"(?:  rewind binding state (?:{_STATE});\n)?"
    rf"(?:  hardware ethernet ({HEX_LIST.pattern});\n)?"
    rf"(?:  uid ({_DATA});\n)?"
    rf"(?:  set {SET_VALUE_PATTERN};\n)*+"
    rf"(?:  option agent\.circuit-id ({_DATA});\n)?"
    rf"(?:  option agent\.remote-id ({_DATA});\n)?"
    rf"(?:  client-hostname ({STRING});\n)?"
    r"\}",
    re.DOTALL,
)


def fast_lease(match: re.Match[str], dates: DateReader) -> Lease:
    """The lease of a `FAST_LEASE` match; raises `SyntaxProblem` (or OSError for the address) on a bad value,
    which the general parser then reports with its line."""
    (address, starts, ends, tstp, tsfp, atsfp, cltt, binding, mac, uid, circuit_id, remote_id,
     hostname) = match.groups()
    ip = IPv4Address(int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big"))
    for checked_only in (tstp, tsfp, atsfp, cltt):
        if checked_only is not None:
            dates.parse_isc(checked_only)
    return Lease(
        ip,
        LeaseState.ACTIVE if binding is None else BINDING_STATES[binding],
        0.0 if starts is None else dates.parse_isc(starts),
        0.0 if ends is None else dates.parse_isc(ends),
        None if mac is None else hex_list_bytes(mac),
        None if uid is None else data_bytes(uid),
        None if hostname is None else string_bytes(hostname).decode("utf-8", "replace"),
        circuit_id=None if circuit_id is None else data_bytes(circuit_id),
        remote_id=None if remote_id is None else data_bytes(remote_id),
    )
