"""What /proc says about one server process: CPU time used, resident memory now and at its peak, open descriptors."""

import os

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the whole process (all threads) so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat_file:
        fields_after_name = stat_file.read().rsplit(")", 1)[1].split()
    user_ticks, system_ticks = int(fields_after_name[11]), int(fields_after_name[12])
    return (user_ticks + system_ticks) / CLOCK_TICKS_PER_SECOND


def peak_rss_kib(pid: int) -> int:
    """VmHWM from /proc/PID/status: the highest resident set size so far, in KiB."""
    return _status_kib(pid, "VmHWM")


def rss_kib(pid: int) -> int:
    """VmRSS from /proc/PID/status: the resident set size now, in KiB."""
    return _status_kib(pid, "VmRSS")


def _status_kib(pid: int, name: str) -> int:
    with open(f"/proc/{pid}/status") as status_file:
        for line in status_file:
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    raise LookupError(f"no {name} for pid {pid}")


def open_fd_count(pid: int) -> int:
    """Number of entries in /proc/PID/fd."""
    return len(os.listdir(f"/proc/{pid}/fd"))
