"""Run a command as a child subreaper: forward signals to it and, once it exits, reap every orphan it left.

Some clients (dhcpcd's privilege-separation helpers) leave helper processes that outlive the main process by
a moment; they are re-parented to the nearest subreaper, and where that is a PID 1 that never reaps
(containers) they would stay zombies for good. Run as a script: `python reaper.py COMMAND [ARG...]`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM)


def become_subreaper() -> None:
    """Adopt the orphans of our descendants, so they are reaped by us."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def run_and_reap(argv: list[str]) -> int:
    """Run `argv`, passing on the signals a test sends; return its exit code after every orphan is reaped."""
    become_subreaper()
    child = subprocess.Popen(argv)
    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, lambda received, _frame: child.send_signal(received))
    returncode = child.wait()
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    return returncode if returncode >= 0 else 128 - returncode


if __name__ == "__main__":
    sys.exit(run_and_reap(sys.argv[1:]))
