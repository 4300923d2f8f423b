"""Runs one server once on a topology: start it, time its first OFFER on the last link, search its highest
loss-free rate with perfdhcp on c0, read its /proc figures, and stop it (by pid, also on failure)."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench import perfdhcp, procstat
from bench.netns import Link, Topology
from bench.preload import PreloadedLease
from bench.search import Step, search_rate
from bench.servers import PROJECT_ROOT, Server

LOAD_CPU = 0
SERVER_CPU = 1
STOP_GRACE_SECONDS = 40
STARTUP_BASE_SECONDS = 15
STARTUP_SECONDS_PER_LINK = 0.03
STARTUP_SECONDS_PER_LEASE = 0.00002
API_TIMEOUT_SECONDS = 120
API_SETTLE_SECONDS = 2      # the server gives memory back a second after a burst of API requests
SETTLE_WINDOW_SECONDS = 0.25
SETTLE_LIMIT_SECONDS = 15
IDLE_CPU_SHARE = 0.05
_ERROR_WORDS = re.compile(r"error|fail|fatal|cannot|can't|unable|too many|no such|not found|refused", re.I)


@dataclass(frozen=True)
class LoadPlan:
    """How hard and how long to push: rate ceiling, seconds per step, steps at most, distinct clients."""

    ceiling: int
    seconds: float
    max_steps: int
    clients: int


@dataclass
class RunOutcome:
    """What one start of one server gave; `error` is set when it did not start or died."""

    server: str
    links: int
    leases: int = 0                    # held from the start (--leases)
    error: str | None = None
    startup_seconds: float | None = None
    best: Step | None = None
    steps: list[Step] = field(default_factory=list)
    half_rate: Step | None = None      # a step at half the best rate, for latency below saturation
    start_rss_kib: int | None = None   # resident once started and idle, holding only `leases`
    peak_rss_kib: int | None = None    # the peak over the load, with perfdhcp's clients' leases too
    api_rss_kib: int | None = None     # resident after the load and then the server's `api_reads`
    open_fds: int | None = None
    packet_sockets: int | None = None


def _log_reason(log_path: Path) -> str:
    """The last line of a server's log that names an error, or its last line."""
    lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    reasons = [line for line in lines if _ERROR_WORDS.search(line) and not line.startswith("If you think")]
    return (reasons or lines or ["no output"])[-1][:200]


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_probe(topology: Topology, link: Link, timeout: float) -> subprocess.Popen:
    """A relay probe (bench/probe.py) on `link`'s far end, ready to send DISCOVERs to the server there until
    an OFFER comes (it then prints the OFFER's monotonic time) or `timeout` passes."""
    probe = subprocess.Popen(
        topology.command_in(link.peer_namespace, [sys.executable, "-m", "bench.probe", link.peer_address,
                                                   link.server_address, str(timeout)]),
        stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    if probe.stdout.readline().strip() != "ready":
        stop_process(probe)
        raise RuntimeError(f"probe on {link.peer_device} could not bind its relay socket")
    return probe


def time_first_offer(topology: Topology, launch: Callable[[], subprocess.Popen], timeout: float):
    """Start the probe on the last link, then launch the server; (server process, seconds to first OFFER)."""
    probe = start_probe(topology, topology.links[-1], timeout)
    try:
        launched_at = time.monotonic()
        server = launch()
        while probe.poll() is None and server.poll() is None:
            time.sleep(0.02)
        answered = probe.stdout.read().strip() if probe.poll() == 0 else ""
        return server, (float(answered) - launched_at if answered else None)
    finally:
        stop_process(probe)


def run_once(server: Server, topology: Topology, plan: LoadPlan, leases: list[PreloadedLease] = ()) -> RunOutcome:
    """Start `server` on every link of `topology` holding `leases`, measure it under `plan`, stop it; never
    leaves it running."""
    outcome = RunOutcome(server.name, len(topology.links), len(leases))
    # The previous server's unwritten files (isc-dhcpd's lease file, a database) are flushed now, so that their
    # writeback does not slow this server's syncs in the middle of its measurement.
    os.sync()
    with tempfile.TemporaryDirectory(prefix="bch-") as workdir_name:
        workdir = Path(workdir_name)
        server.write_config(workdir, topology.links, leases)
        log_path = workdir / "server.log"
        timeout = (STARTUP_BASE_SECONDS + STARTUP_SECONDS_PER_LINK * len(topology.links)
                   + STARTUP_SECONDS_PER_LEASE * len(leases))
        process = None
        with open(log_path, "w") as log:
            def launch() -> subprocess.Popen:
                argv = topology.command_in(topology.server_namespace, server.argv(workdir, topology.links),
                                           cpu=SERVER_CPU)
                environment = {**os.environ, **server.environment(workdir)}
                return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=workdir)
            try:
                process, outcome.startup_seconds = time_first_offer(topology, launch, timeout)
                if outcome.startup_seconds is None:
                    state = "exited" if process.poll() is not None else f"no OFFER within {timeout:.0f} s"
                    outcome.error = f"did not start ({state}): {_log_reason(log_path)}"
                    return outcome
                _wait_until_idle(process.pid)
                outcome.start_rss_kib = procstat.rss_kib(process.pid)
                _measure(process.pid, topology, plan, outcome)
                outcome.peak_rss_kib = procstat.peak_rss_kib(process.pid)
                if server.api_reads:
                    _read_api(topology, server.api_reads)
                    outcome.api_rss_kib = procstat.rss_kib(process.pid)
            except (OSError, RuntimeError) as failure:
                outcome.error = f"failed: {failure}; log: {_log_reason(log_path)}"
            finally:
                if process is not None:
                    stop_process(process)
    return outcome


def _read_api(topology: Topology, urls: tuple[str, ...]) -> None:
    """GET each of `urls` once from inside the server's namespace, then give the server time to settle."""
    fetch = "import sys, urllib.request\nfor url in sys.argv[1:]: urllib.request.urlopen(url, timeout=60).read()"
    try:
        subprocess.run(topology.command_in(topology.server_namespace, [sys.executable, "-c", fetch, *urls]),
                       check=True, timeout=API_TIMEOUT_SECONDS)
    except subprocess.SubprocessError as failure:
        raise RuntimeError(f"API reads failed: {failure}") from failure
    time.sleep(API_SETTLE_SECONDS)


def _wait_until_idle(pid: int) -> None:
    """Wait (bounded) until the server has worked off the backlog a previous overloaded step left queued."""
    deadline = time.monotonic() + SETTLE_LIMIT_SECONDS
    while time.monotonic() < deadline:
        before = procstat.cpu_seconds(pid)
        time.sleep(SETTLE_WINDOW_SECONDS)
        if procstat.cpu_seconds(pid) - before <= IDLE_CPU_SHARE * SETTLE_WINDOW_SECONDS:
            return


def _measure(pid: int, topology: Topology, plan: LoadPlan, outcome: RunOutcome) -> None:
    client = topology.links[0]
    load_prefix = topology.command_in(client.peer_namespace, [], cpu=LOAD_CPU)

    def measure_step(rate: int) -> Step:
        _wait_until_idle(pid)
        cpu_before = procstat.cpu_seconds(pid)
        load = perfdhcp.run_load(load_prefix, client.peer_device, rate, plan.seconds, plan.clients)
        return Step(load, procstat.cpu_seconds(pid) - cpu_before)

    outcome.best, outcome.steps = search_rate(measure_step, plan.ceiling, plan.max_steps)
    if outcome.best is not None and outcome.best.load.rate >= 2:
        outcome.half_rate = measure_step(outcome.best.load.rate // 2)
    outcome.open_fds = procstat.open_fd_count(pid)
    outcome.packet_sockets = topology.packet_socket_count()

