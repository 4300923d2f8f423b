"""Pure parts of the harness: perfdhcp report parsing and the orphan-reaping wrapper (no root needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import reaper
from tests.harness.perfdhcp import ExchangeStats, parse_report

pytestmark = pytest.mark.unit

REPORT = """***Rate statistics***
Rate: 19.8 4-way exchanges/second, expected rate: 20

***Statistics for: DISCOVER-OFFER***
sent packets: 20
received packets: 19
drops: 1
drops ratio: 5 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.3 ms
***Statistics for: REQUEST-ACK***
sent packets: 19
received packets: 19
drops: 0
drops ratio: 0 %
orphans: 2
rejected leases: 1
non unique addresses: 0
"""


def test_report_sections_become_counters():
    assert parse_report(REPORT) == {
        "DISCOVER-OFFER": ExchangeStats(sent=20, received=19, drops=1, orphans=0, rejected_leases=0,
                                        non_unique_addresses=0),
        "REQUEST-ACK": ExchangeStats(sent=19, received=19, drops=0, orphans=2, rejected_leases=1,
                                     non_unique_addresses=0),
    }


def test_report_without_statistics_is_empty():
    assert parse_report("Failed to open socket\n") == {}


def test_reaper_passes_the_exit_code_and_waits_for_orphans(tmp_path: Path):
    marker = tmp_path / "orphan-finished"
    leaves_an_orphan = f"(sleep 0.3; touch {marker}) & exit 3"
    completed = subprocess.run([sys.executable, reaper.__file__, "sh", "-c", leaves_an_orphan], timeout=30)
    assert completed.returncode == 3
    assert marker.exists()


def test_reaper_reports_death_by_signal_like_a_shell():
    completed = subprocess.run([sys.executable, reaper.__file__, "sh", "-c", "kill -KILL $$"], timeout=30)
    assert completed.returncode == 128 + 9
