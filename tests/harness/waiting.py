"""Polling helper for things a test waits on (a log line, a lease): bounded by a timeout, never a timing assertion."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")
POLL_INTERVAL = 0.05


def poll(probe: Callable[[], T | None], timeout: float) -> T | None:
    """Call `probe` until it returns something other than None or False (a probe may be a plain condition), or
    until `timeout` seconds pass; then its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if (result is not None and result is not False) or time.monotonic() >= deadline:
            return result
        time.sleep(POLL_INTERVAL)
