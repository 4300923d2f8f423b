"""The bench starts servers in rounds (each server once per round), and stops starting one that failed to."""

import contextlib
import importlib

import pytest

from bench.run import RunOutcome

bench_main = importlib.import_module("bench.__main__")

pytestmark = pytest.mark.unit


class _Kind:
    def __init__(self, name: str) -> None:
        self.name = name


@pytest.fixture
def started(monkeypatch) -> list[str]:
    """Each start's server name, in order; "kea" fails to start."""
    order: list[str] = []

    def run_once(server, topology, plan, leases):
        order.append(server.name)
        error = "did not start (exited): no config" if server.name == "kea" else None
        return RunOutcome(server=server.name, links=1, error=error)

    monkeypatch.setattr(bench_main, "run_once", run_once)
    monkeypatch.setattr(bench_main, "Topology", lambda links: contextlib.nullcontext(type("T", (), {"links": []})))
    monkeypatch.setattr(bench_main, "preloaded_leases", lambda links, count: [])
    monkeypatch.setattr(bench_main, "SERVER_KINDS", {name: (lambda name=name: _Kind(name))
                                                      for name in ("kea", "ours", "isc")})
    return order


def test_each_round_starts_every_server_once(started):
    assert bench_main.main(["--servers", "ours,isc", "--reps", "3"]) == 0
    assert started == ["ours", "isc"] * 3


def test_a_server_that_did_not_start_is_not_started_again(started):
    assert bench_main.main(["--servers", "kea,ours", "--reps", "3"]) == 0
    assert started == ["kea", "ours", "ours", "ours"]
