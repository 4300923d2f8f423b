"""Kea's perfdhcp as a load generator in a namespace, with its final report parsed into numbers.

perfdhcp acts as a relay (`-l IF` binds that interface's address, port 67, and sets giaddr to it), so the
server must serve a subnet containing that address and answers it by unicast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address

from tests.harness.netns import Namespace

SECTION = re.compile(r"^\*\*\*Statistics for: (\S+)\*\*\*$", re.MULTILINE)
COUNTER = re.compile(r"^(sent packets|received packets|drops|orphans|rejected leases|non unique addresses): (\d+)$")


class PerfdhcpReportError(Exception):
    """perfdhcp printed no statistics (it failed to start); the message carries its output."""


@dataclass(frozen=True)
class ExchangeStats:
    """Counters of one exchange kind (DISCOVER-OFFER or REQUEST-ACK) from perfdhcp's final report."""

    sent: int
    received: int
    drops: int
    orphans: int
    rejected_leases: int
    non_unique_addresses: int


@dataclass(frozen=True)
class PerfdhcpResult:
    exit_code: int
    discover_offer: ExchangeStats
    request_ack: ExchangeStats
    output: str


def parse_report(output: str) -> dict[str, ExchangeStats]:
    """Each `***Statistics for: NAME***` section's counters, keyed by NAME."""
    names = SECTION.findall(output)
    bodies = SECTION.split(output)[2::2]
    stats = {}
    for name, body in zip(names, bodies):
        counters = {}
        for line in body.splitlines():
            match = COUNTER.match(line.strip())
            if match:
                counters[match.group(1).replace(" ", "_")] = int(match.group(2))
        stats[name] = ExchangeStats(
            sent=counters["sent_packets"], received=counters["received_packets"], drops=counters["drops"],
            orphans=counters["orphans"], rejected_leases=counters["rejected_leases"],
            non_unique_addresses=counters["non_unique_addresses"],
        )
    return stats


def run_perfdhcp(
    namespace: Namespace,
    local: str,
    server: IPv4Address,
    rate: int,
    num_requests: int,
    clients: int | None = None,
    timeout: float = 60.0,
) -> PerfdhcpResult:
    """Run `num_requests` DORA exchanges at `rate`/s from `clients` distinct MACs (default: one per request)."""
    # -W: wait 1 s for replies still in flight when the last request is sent, else they count as drops
    argv = ["perfdhcp", "-4", "-l", local, "-r", str(rate), "-n", str(num_requests), "-W", "1000000",
            "-R", str(clients or num_requests), str(server)]
    completed = namespace.run(argv, check=False, timeout=timeout)
    output = completed.stdout + completed.stderr
    stats = parse_report(output)
    if "DISCOVER-OFFER" not in stats or "REQUEST-ACK" not in stats:
        raise PerfdhcpReportError(f"perfdhcp exited {completed.returncode} without a report:\n{output}")
    return PerfdhcpResult(completed.returncode, stats["DISCOVER-OFFER"], stats["REQUEST-ACK"], output)
