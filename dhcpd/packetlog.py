"""Per-message log lines in isc-dhcpd's words ("DHCPACK on ... via s1"), written in batches.

An exchange logs two to four lines; through the `logging` module each line costs a LogRecord, a formatter and a
write (about 15 µs). Here lines are queued and written in batches (the server writes what is pending at most
LOG_WRITE_DELAY after a line is queued): under `-d` to stderr with
isc's time stamp (made once a second), otherwise to syslog with the daemon facility, as isc-dhcpd does.
"""

from __future__ import annotations

import sys
import syslog
import time
from collections.abc import Callable
from typing import TextIO

Writer = Callable[[list[str]], None]


def stderr_writer(stream: TextIO = sys.stderr) -> Writer:
    stamped_second = None
    stamp = ""

    def write(lines: list[str]) -> None:
        nonlocal stamped_second, stamp
        second = int(time.time())
        if second != stamped_second:  # batches come many times a second: the stamp is made once a second
            stamped_second, stamp = second, time.strftime("%b %d %H:%M:%S ", time.localtime(second))
        stream.write(stamp + ("\n" + stamp).join(lines) + "\n")
        stream.flush()

    return write


def syslog_writer() -> Writer:
    syslog.openlog("dhcpd", syslog.LOG_PID, syslog.LOG_DAEMON)

    def write(lines: list[str]) -> None:
        for line in lines:
            syslog.syslog(syslog.LOG_INFO, line)

    return write


class PacketLog:
    """Queue lines with `extend`; `flush` writes them (the server schedules it when `extend` queues the first)."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._pending: list[str] = []

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def extend(self, lines: list[str]) -> bool:
        """Queue `lines`; True when they are the first pending, so that the caller schedules `flush` (one call
        per packet, not a `pending` check and then this)."""
        first = not self._pending
        self._pending.extend(lines)
        return first

    def flush(self) -> None:
        if self._pending:
            lines, self._pending = self._pending, []
            self._writer(lines)
