"""Smoke test of the benchmark harness: `python -m bench --quick --servers isc,ours` runs end to end in its own
namespaces and prints, for each server, a table row with a completed DORA rate above zero."""

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def completed_rate_of(table: str, server: str) -> float:
    """The 'DORA/s done' cell of `server`'s row in the Markdown table printed by the bench."""
    header = next(line for line in table.splitlines() if line.startswith("| server |"))
    titles = [cell.strip() for cell in header.strip("|").split("|")]
    row = next(line for line in table.splitlines() if line.startswith(f"| {server} |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    value = cells[titles.index("DORA/s done")]
    return 0.0 if value == "-" else float(value)


def test_quick_bench_measures_isc_dhcpd_and_ours():
    finished = subprocess.run([sys.executable, "-m", "bench", "--quick", "--servers", "isc,ours"],
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0, finished.stderr
    assert completed_rate_of(finished.stdout, "isc") > 0, finished.stdout
    assert completed_rate_of(finished.stdout, "ours") > 0, finished.stdout
