"""Smoke test of the benchmark harness: `python -m bench --quick` runs every server end to end in its own
namespaces, each holding the same preloaded leases in its own lease file format, and prints for each a table row
with a completed DORA rate above zero."""

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


SERVERS = ("ours", "ours-crash", "kea", "isc", "dnsmasq")


def test_quick_bench_measures_every_server_holding_preloaded_leases():
    finished = subprocess.run([sys.executable, "-m", "bench", "--quick", "--servers", ",".join(SERVERS),
                               "--links", "3", "--leases", "300"],
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=400)
    assert finished.returncode == 0, finished.stderr
    for server in SERVERS:
        assert completed_rate_of(finished.stdout, server) > 0, finished.stdout
