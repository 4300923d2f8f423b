"""Importing an isc-dhcpd lease file into an empty lease database, showing progress while it runs.

A migration imports the file once: into a database that holds no lease yet, so restarting with the same `-lf`
never overwrites what the server has written since. The file is read completely first (a file with problems
raises `ParseError` and writes nothing), then written in one transaction by `LeaseStore.bulk_insert`.

Progress goes to a terminal as one line redrawn in place (phase, bar, amount done, rate); when the output
is not a terminal (a service's log), as a log line each time another tenth of the work is done.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from dhcpd.gc_pause import paused_collector
from dhcpd.leases.iscfile import parse_leases
from dhcpd.leases.record import Lease
from dhcpd.leases.store import LeaseStore

log = logging.getLogger(__name__)

BAR_WIDTH = 30
REDRAW_SECONDS = 0.2     # a terminal line redrawn more often than this only costs time
LOG_STEPS = 10           # without a terminal: one log line per tenth
WRITE_REPORT_EVERY = 20_000
MEGABYTE = 1_000_000


class ImportProgress:
    """Reports the phases of an import (reading bytes, then writing leases) to `out` or to the log."""

    def __init__(self, out: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.terminal = out.isatty()
        self.clock = clock
        self._phase = ""
        self._phase_started = self._last_report = clock()
        self._last_draw = -REDRAW_SECONDS
        self._last_step = -1
        self._line_open = False

    def reading(self, done_bytes: int, total_bytes: int) -> None:
        self._report("reading", done_bytes, total_bytes, lambda done, rate: (
            f"{done / MEGABYTE:,.1f}/{total_bytes / MEGABYTE:,.1f} MB, {rate / MEGABYTE:,.1f} MB/s"))

    def writing(self, done_leases: int, total_leases: int) -> None:
        self._report("writing", done_leases, total_leases, lambda done, rate: (
            f"{done:,}/{total_leases:,} leases, {rate:,.0f} leases/s"))

    def finish(self, message: str) -> None:
        """End the progress line and report the outcome."""
        if self._line_open:
            self.out.write("\n")
            self.out.flush()
            self._line_open = False
        log.info("%s", message)

    def _report(self, phase: str, done: int, total: int, amounts: Callable[[int, float], str]) -> None:
        now = self.clock()
        if phase != self._phase:    # a phase starts where the previous one was last heard of
            self._phase, self._phase_started, self._last_step = phase, self._last_report, -1
        self._last_report = now
        finished = total > 0 and done >= total
        fraction = min(done / total, 1.0) if total > 0 else 0.0
        rate = done / max(now - self._phase_started, 1e-6)
        if self.terminal:
            if finished or now - self._last_draw >= REDRAW_SECONDS:
                self._last_draw = now
                bar = "#" * int(fraction * BAR_WIDTH)
                self.out.write(f"\r{phase:8}[{bar:<{BAR_WIDTH}}] {fraction:4.0%}  {amounts(done, rate)}\x1b[K")
                self.out.flush()
                self._line_open = True
            return
        step = int(fraction * LOG_STEPS)
        if step > self._last_step:
            self._last_step = step
            log.info("lease import: %s %3.0f%%, %s", phase, fraction * 100, amounts(done, rate))


def import_lease_file(store: LeaseStore, path: str, out: TextIO = sys.stderr) -> int | None:
    """Import the lease file at `path` if it exists, is not empty and the database holds no lease; returns how
    many leases were imported, or None when there was nothing to do. Raises `ParseError` (nothing written) on a
    bad file."""
    if not os.path.exists(path) or os.path.getsize(path) == 0 or store.page(None, 1):
        return None
    progress = ImportProgress(out)
    started = time.monotonic()
    with paused_collector():   # a million Lease objects, none in a reference cycle
        leases = list(parse_leases(path, progress=progress.reading))
        count = store.bulk_insert(_reporting(leases, progress))
    progress.finish(f"imported {count:,} leases from {path} in {time.monotonic() - started:.1f} s")
    return count


def _reporting(leases: list[Lease], progress: ImportProgress) -> Iterator[Lease]:
    """`leases`, reporting how many have been handed on, every `WRITE_REPORT_EVERY` and at the end."""
    total = len(leases)
    for start in range(0, total, WRITE_REPORT_EVERY):
        yield from leases[start:start + WRITE_REPORT_EVERY]
        progress.writing(min(start + WRITE_REPORT_EVERY, total), total)
