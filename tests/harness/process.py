"""A process the harness started inside a namespace: its pid, its log file, and a pid-exact way to stop it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.harness.waiting import poll

STOP_GRACE_SECONDS = 3.0
LOG_WAIT_SECONDS = 5.0


class DidNotStart(Exception):
    """A server or relay exited or never logged that it was ready; the message carries its log."""


class Process:
    """A running command whose stdout and stderr go to one log file (or to the terminal)."""

    def __init__(self, popen: subprocess.Popen, log_path: Path | None, argv: list[str]) -> None:
        self.popen = popen
        self.log_path = log_path
        self.argv = argv

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        """Everything the process has written so far to its log file ("" when its output goes to the terminal)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def logged(self, text: str, times: int = 1, timeout: float = LOG_WAIT_SECONDS) -> bool:
        """Whether `text` is in the log at least `times` times within `timeout` seconds. The server writes its
        packet log in batches, up to 20 ms after the packet, so a line may come after the reply it is about."""
        return poll(lambda: self.log().count(text) >= times, timeout)

    def require_log_line(self, text: str, timeout: float) -> None:
        """Wait until `text` appears in the log; raise DidNotStart if the process exits or it never appears."""
        poll(lambda: True if text in self.log() or not self.alive() else None, timeout)
        if not self.alive() or text not in self.log():
            raise DidNotStart(f"{' '.join(self.argv)} did not log {text!r}:\n{self.log()}")

    def signal(self, signum: int) -> None:
        if self.alive():
            os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after a grace period; returns the exit code."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        return self.popen.wait()

    def __repr__(self) -> str:
        return f"Process(pid={self.pid}, argv={self.argv!r}, log={str(self.log_path)!r})"
