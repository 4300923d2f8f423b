"""Smoke test of the benchmark harness: `python -m bench --quick` runs every server end to end in its own
namespaces, each holding the same preloaded leases in its own lease file format, and prints for each a table row
with a completed DORA rate above zero, and for ours its resident memory after reads of its REST API."""

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def cell_of(table: str, server: str, title: str) -> float:
    """The `title` cell of `server`'s row in the Markdown table printed by the bench (0 when empty)."""
    header = next(line for line in table.splitlines() if line.startswith("| server |"))
    titles = [cell.strip() for cell in header.strip("|").split("|")]
    row = next(line for line in table.splitlines() if line.startswith(f"| {server} |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    value = cells[titles.index(title)]
    return 0.0 if value == "-" else float(value.replace(",", ""))


SERVERS = ("ours", "ours-crash", "kea", "isc", "dnsmasq")


def test_quick_bench_measures_every_server_holding_preloaded_leases():
    finished = subprocess.run([sys.executable, "-m", "bench", "--quick", "--servers", ",".join(SERVERS),
                               "--links", "3", "--leases", "300"],
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=400)
    assert finished.returncode == 0, finished.stderr
    for server in SERVERS:
        assert cell_of(finished.stdout, server, "DORA/s done") > 0, finished.stdout
    # ours serves its REST API from its own process: the bench reads it after the load and reports the memory
    assert cell_of(finished.stdout, "ours", "RSS after API MiB") > 0, finished.stdout
