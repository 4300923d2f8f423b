"""ISC dhcpd.leases reading and writing: the statements isc writes, last-one-wins, errors, round trip."""

from __future__ import annotations

import io
import math
from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dhcpd.leases.iscfile import ParseError, parse_leases, write_leases
from dhcpd.leases.record import Lease, LeaseState

pytestmark = pytest.mark.unit

# 2024-01-03 10:00:00 UTC (a Wednesday, weekday 3) and twelve hours later.
STARTS = 1704276000.0
ENDS = STARTS + 12 * 3600

ISC_FILE = r"""# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

server-duid "\000\001\000\001-\334\012\273RT\000\022\064V";

failover peer "peer" state {
  my state normal at 3 2024/01/03 09:00:00;
  partner state normal at 3 2024/01/03 09:00:00;
}

host old-omapi-host {
  dynamic;
  hardware ethernet 00:11:22:33:44:55;
  fixed-address 10.0.0.200;
}
host old-omapi-host {
  dynamic;
  deleted;
}

lease 10.0.0.5 {
  starts 3 2024/01/03 10:00:00;
  ends 3 2024/01/03 22:00:00;
  tstp 3 2024/01/03 22:00:00;
  tsfp 3 2024/01/03 22:00:00;
  atsfp 3 2024/01/03 22:00:00;
  cltt 3 2024/01/03 10:00:00;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 52:54:00:12:34:56;
  uid "\001RT\000\0224V";
  set vendor-class-identifier = "MSFT 5.0";
  set ddns-txt = %42;
  option agent.circuit-id "eth0.105:1";
  option agent.remote-id 0:1a:2b:3c:4d:5e;
  client-hostname "laptop";
  on expiry {
    if exists agent.circuit-id { log (info, "expired"); }
  }
}
lease 10.0.0.6 {
  starts epoch 1704276000; # Wed Jan 03 10:00:00 2024
  ends never;
  binding state abandoned;
  uid 01:52:54:00:ab:cd:ef;
}
lease 10.0.0.5 {
  starts 3 2024/01/03 10:00:00;
  ends 3 2024/01/03 22:00:00;
  binding state released;
  hardware ethernet 52:54:00:12:34:56;
}
"""


def parse_text(text: str, **options) -> list[Lease]:
    return list(parse_leases(io.StringIO(text), filename="dhcpd.leases", **options))


def test_reads_every_statement_isc_writes():
    leases = {lease.ip: lease for lease in parse_text(ISC_FILE)}
    assert set(leases) == {IPv4Address("10.0.0.5"), IPv4Address("10.0.0.6")}
    abandoned = leases[IPv4Address("10.0.0.6")]
    assert abandoned.state is LeaseState.ABANDONED
    assert abandoned.starts == STARTS
    assert abandoned.expires == math.inf
    assert abandoned.client_id == bytes.fromhex("01525400abcdef")
    assert abandoned.mac is None


def test_the_last_declaration_of_an_address_wins():
    released = next(lease for lease in parse_text(ISC_FILE) if lease.ip == IPv4Address("10.0.0.5"))
    assert released == Lease(
        ip=IPv4Address("10.0.0.5"), state=LeaseState.RELEASED, starts=STARTS, expires=ENDS,
        mac=bytes.fromhex("525400123456"),
    )


def test_reads_uid_escapes_agent_options_and_hostname():
    first_declaration = ISC_FILE.split("lease 10.0.0.6")[0]
    (lease,) = parse_text(first_declaration)
    assert lease.state is LeaseState.ACTIVE
    assert (lease.starts, lease.expires) == (STARTS, ENDS)
    assert lease.client_id == bytes.fromhex("01525400123456")
    assert lease.circuit_id == b"eth0.105:1"
    assert lease.remote_id == bytes.fromhex("001a2b3c4d5e")
    assert lease.hostname == "laptop"


@pytest.mark.parametrize(
    ("isc_state", "state"),
    [("active", LeaseState.ACTIVE), ("free", LeaseState.FREE), ("backup", LeaseState.BACKUP),
     ("abandoned", LeaseState.ABANDONED), ("expired", LeaseState.EXPIRED),
     ("released", LeaseState.RELEASED), ("reset", LeaseState.FREE)],
)
def test_binding_states(isc_state, state):
    (lease,) = parse_text(f"lease 10.1.1.1 {{ binding state {isc_state}; }}")
    assert lease.state is state


@pytest.mark.parametrize(
    ("quoted", "expected"),
    [(r'"\001\002abc"', b"\x01\x02abc"), (r'"a\"b\\c"', b'a"b\\c'), (r'"\x41\t\7"', b"A\t\x07"),
     (r'"\q\n"', b"q\n"), ('"line\nbreak"', b"line\nbreak")],
)
def test_quoted_uid_escapes(quoted, expected):
    (lease,) = parse_text(f"lease 10.1.1.1 {{ uid {quoted}; }}")
    assert lease.client_id == expected


def test_free_spacing_and_comments_inside_a_lease():
    text = "lease\t10.1.1.2\n{ # comment\n starts\t3\n 2024/01/03   10:00:00 ;hardware ethernet 1:2:3:a:b:c;}"
    (lease,) = parse_text(text)
    assert lease.starts == STARTS
    assert lease.mac == bytes([1, 2, 3, 10, 11, 12])


def test_progress_reports_bytes_up_to_the_total(tmp_path):
    path = tmp_path / "dhcpd.leases"
    path.write_text(ISC_FILE)
    calls: list[tuple[int, int]] = []
    list(parse_leases(path, progress=lambda done, total: calls.append((done, total))))
    assert calls[-1] == (len(ISC_FILE), len(ISC_FILE))
    assert all(done <= total for done, total in calls)


def test_problems_are_all_reported_with_file_and_line():
    text = (
        "lease 10.0.0.1 {\n  starts 3 2024/01/03 10:00:00;\n}\n"
        "lease 10.0.0.2 {\n  binding state sleeping;\n}\n"
        "lease 10.0.0.3 {\n  starts 3 2024/13/03 10:00:00;\n}\n"
        "lease 10.0.0.999 {\n}\n"
        "lease 10.0.0.4 {\n  hardware ethernet zz:00;\n  frobnicate;\n}\n"
        "lease 10.0.0.5 {\n  ends 3 2024/01/03 22:00:00\n}\n"
        "starts 3 2024/01/03 10:00:00;\n"
    )
    with pytest.raises(ParseError) as raised:
        parse_text(text)
    assert raised.value.problems == [
        "dhcpd.leases line 5: lease 10.0.0.2: expected `binding state` and one of active, free, backup, abandoned,"
        " expired, released, reset, reserved, bootp, got 'state sleeping'",
        "dhcpd.leases line 8: lease 10.0.0.3: bad calendar day in date '3 2024/13/03 10:00:00'",
        "dhcpd.leases line 10: bad lease address '10.0.0.999': expected A.B.C.D",
        "dhcpd.leases line 13: lease 10.0.0.4: expected colon-separated hex bytes, got 'zz:00'",
        "dhcpd.leases line 17: lease 10.0.0.5: missing ';' after 'ends 3 2024/01/03 22:00:00'",
        "dhcpd.leases line 19: unexpected statement 'starts' at the top level of a lease file",
    ]
    assert str(raised.value).splitlines() == raised.value.problems


def test_unbalanced_braces_are_reported_and_reading_goes_on():
    text = 'lease 10.0.0.1 {\n  client-hostname "unterminated;\n}\nlease 10.0.0.2 {\n  frobnicate;\n}\n'
    with pytest.raises(ParseError) as raised:
        parse_text(text)
    assert raised.value.problems[0].startswith("dhcpd.leases line 1: cannot read this statement")
    assert raised.value.problems[1] == "dhcpd.leases line 5: lease 10.0.0.2: unknown statement 'frobnicate'"


def test_lines_are_counted_across_chunks(monkeypatch):
    monkeypatch.setattr("dhcpd.leases.iscfile_reader.CHUNK_CHARS", 7)
    text = "lease 10.0.0.1 { # a comment that crosses chunks }\n binding state free;\n}\n" * 3 + "lease 1.2.3 {\n}\n"
    with pytest.raises(ParseError, match=r"^dhcpd.leases line 10: bad lease address '1.2.3'"):
        parse_text(text)


def test_writes_isc_statements():
    lease = Lease(
        ip=IPv4Address("10.0.0.5"), state=LeaseState.ACTIVE, starts=STARTS, expires=ENDS,
        mac=bytes.fromhex("525400123456"), client_id=b"\x01RT\x00\x124V", hostname="laptop",
        circuit_id=b"eth0.105", remote_id=b"\x00\x1a",
    )
    out = io.StringIO()
    write_leases([lease], out, now=ENDS)
    assert "authoring-byte-order little-endian;\n" in out.getvalue()
    assert out.getvalue().split("\n\n", 1)[1] == (
        "lease 10.0.0.5 {\n"
        "  starts 3 2024/01/03 10:00:00;\n"
        "  ends 3 2024/01/03 22:00:00;\n"
        "  cltt 3 2024/01/03 10:00:00;\n"
        "  binding state active;\n"
        "  next binding state free;\n"
        "  hardware ethernet 52:54:00:12:34:56;\n"
        '  uid "\\001RT\\000\\0224V";\n'
        '  option agent.circuit-id "eth0.105";\n'
        "  option agent.remote-id 00:1a;\n"
        '  client-hostname "laptop";\n'
        "}\n"
    )


@pytest.mark.parametrize(
    ("state", "read_back"),
    [(LeaseState.OFFERED, LeaseState.FREE), (LeaseState.DECLINED, LeaseState.ABANDONED)],
)
def test_states_isc_does_not_have(state, read_back):
    lease = Lease(ip=IPv4Address("10.0.0.9"), state=state, starts=STARTS, expires=ENDS, mac=b"\x02" * 6)
    out = io.StringIO()
    write_leases([lease], out, now=STARTS)
    assert parse_text(out.getvalue()) == [lease.copy(state=read_back)]


ISC_STATES = [state for state in LeaseState if state not in (LeaseState.OFFERED, LeaseState.DECLINED)]
seconds = st.integers(min_value=1, max_value=2**32).map(float)
optional_bytes = st.none() | st.binary(min_size=1, max_size=40)
leases = st.builds(
    Lease,
    ip=st.integers(min_value=0, max_value=2**32 - 1).map(IPv4Address),
    state=st.sampled_from(ISC_STATES),
    starts=seconds,
    expires=seconds | st.just(math.inf),
    mac=st.none() | st.binary(min_size=1, max_size=16),
    client_id=optional_bytes,
    hostname=st.none() | st.text(min_size=1, max_size=30),
    circuit_id=optional_bytes,
    remote_id=optional_bytes,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(leases, max_size=8, unique_by=lambda lease: lease.ip))
def test_write_then_parse_gives_back_the_same_leases(written):
    out = io.StringIO()
    write_leases(written, out, now=STARTS)
    assert parse_text(out.getvalue()) == written
