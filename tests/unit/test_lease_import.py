"""Importing a dhcpd.leases file: what lands in the database, when nothing is imported, and the progress
shown on a terminal (one line redrawn) or in the log (a line per tenth); the reader's fast path for isc's
layout gives exactly what the general parser gives."""

from __future__ import annotations

import io
import logging
import re

import pytest

from bench.gen_leases import write_lease_file
from dhcpd.leases.importing import ImportProgress, import_lease_file
from dhcpd.leases.iscfile import ParseError, parse_leases

pytestmark = pytest.mark.unit

LEASE_COUNT = 2_000


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lease_file(tmp_path):
    path = tmp_path / "dhcpd.leases"
    with open(path, "w", encoding="latin-1") as out:
        write_lease_file(out, LEASE_COUNT)
    return path


def test_imports_every_address_final_lease(store, lease_file):
    assert import_lease_file(store, str(lease_file), out=io.StringIO()) == LEASE_COUNT
    expected = sorted(parse_leases(lease_file), key=lambda lease: lease.ip)
    assert store.load_all() == expected


def test_imports_nothing_into_a_database_that_has_leases(store, lease_file, tmp_path):
    other = tmp_path / "other.leases"
    other.write_text("lease 10.9.9.9 { binding state active; }\n")
    import_lease_file(store, str(other), out=io.StringIO())
    assert import_lease_file(store, str(lease_file), out=io.StringIO()) is None
    assert [str(lease.ip) for lease in store.load_all()] == ["10.9.9.9"]


def test_a_missing_file_imports_nothing(store, tmp_path):
    assert import_lease_file(store, str(tmp_path / "absent.leases"), out=io.StringIO()) is None
    assert store.load_all() == []


def test_a_file_with_problems_writes_nothing(store, tmp_path):
    path = tmp_path / "bad.leases"
    path.write_text("lease 10.0.0.1 { binding state active; }\nlease 10.0.0.2 { frobnicate; }\n")
    with pytest.raises(ParseError, match="line 2: lease 10.0.0.2: unknown statement 'frobnicate'"):
        import_lease_file(store, str(path), out=io.StringIO())
    assert store.load_all() == []


def test_a_terminal_gets_one_line_redrawn_with_bar_amounts_and_rates(store, lease_file):
    terminal = FakeTerminal()
    import_lease_file(store, str(lease_file), out=terminal)
    shown = terminal.getvalue()
    assert shown.startswith("\r") and shown.endswith("\n") and shown.count("\n") == 1
    redraws = shown.rstrip("\n").split("\r")[1:]
    size_mb = lease_file.stat().st_size / 1e6
    assert re.match(rf"reading +\[#+\] 100%  {size_mb:.1f}/{size_mb:.1f} MB, [\d,.]+ MB/s", redraws[0])
    assert re.match(rf"writing +\[#{{30}}\] 100%  {LEASE_COUNT:,}/{LEASE_COUNT:,} leases, [\d,]+ leases/s",
                    redraws[-1])


def test_a_terminal_is_redrawn_at_most_five_times_a_second_and_at_the_end():
    clock, terminal = FakeClock(), FakeTerminal()
    progress = ImportProgress(terminal, clock)
    for done in range(0, 1001, 10):
        progress.reading(done, 1000)
    clock.now += 0.25
    progress.reading(1000, 1000)
    progress.finish("done")
    redraws = terminal.getvalue().split("\r")[1:]
    assert [redraw.split("]")[1].split("%")[0].strip() for redraw in redraws] == ["0", "100", "100"]


def test_without_a_terminal_a_log_line_per_tenth(caplog):
    clock, log_file = FakeClock(), io.StringIO()
    progress = ImportProgress(log_file, clock)
    with caplog.at_level(logging.INFO, logger="dhcpd.leases.importing"):
        for done in range(0, 1_000_001, 5_000):
            clock.now += 0.01
            progress.reading(done, 1_000_000)
        progress.finish("imported")
    percentages = [re.search(r"reading +(\d+)%", message).group(1) for message in caplog.messages[:-1]]
    assert percentages == [str(tenth * 10) for tenth in range(11)]
    assert caplog.messages[-2] == "lease import: reading 100%, 1.0/1.0 MB, 0.5 MB/s"
    assert caplog.messages[-1] == "imported"
    assert log_file.getvalue() == ""


def test_the_fast_path_reads_isc_layout_as_the_general_parser_does(lease_file, monkeypatch):
    fast = list(parse_leases(lease_file))
    monkeypatch.setattr("dhcpd.leases.iscfile_reader.FAST_LEASE", re.compile(r"(?!)"))
    assert fast == list(parse_leases(lease_file))
