"""Runs one bounded perfdhcp DORA load (relay mode on one link) and parses its report.

perfdhcp -x t prints the send and receive time of every completed exchange, so the delay percentiles are
computed from those, per exchange type (DISCOVER-OFFER and REQUEST-ACK).
"""

import re
import subprocess
from dataclasses import dataclass

EXIT_WAIT_MICROSECONDS = 500_000


@dataclass(frozen=True)
class ExchangeStats:
    """One exchange type of a perfdhcp run: packets sent and answered, and answer delays in milliseconds."""

    sent: int
    received: int
    delays_ms: list[float]

    def percentile(self, fraction: float) -> float | None:
        if not self.delays_ms:
            return None
        ordered = sorted(self.delays_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass(frozen=True)
class LoadResult:
    """A perfdhcp run: the rate asked for, how long it sent, and the two exchange types."""

    rate: int
    seconds: float
    discover_offer: ExchangeStats
    request_ack: ExchangeStats

    @property
    def completed(self) -> int:
        return self.request_ack.received

    @property
    def completed_per_second(self) -> float:
        return self.completed / self.seconds

    @property
    def loss(self) -> float:
        """Share of started exchanges (DISCOVERs sent) that did not end with an ACK."""
        started = self.discover_offer.sent
        return 1.0 if started == 0 else 1.0 - self.completed / started


_SECTION = re.compile(r"\*\*\*(Statistics|Timestamps) for(?: packets)?: (DISCOVER-OFFER|REQUEST-ACK)\*\*\*")
_COUNTER = re.compile(r"^(sent|received) packets: (\d+)", re.M)
_TIMESTAMP = re.compile(r"sent / received: ([\d.]+) / ([\d.]+)")


def parse_report(text: str) -> tuple[ExchangeStats, ExchangeStats]:
    """Split perfdhcp's final report into DISCOVER-OFFER and REQUEST-ACK statistics."""
    counters: dict[str, dict[str, int]] = {"DISCOVER-OFFER": {}, "REQUEST-ACK": {}}
    delays: dict[str, list[float]] = {"DISCOVER-OFFER": [], "REQUEST-ACK": []}
    marks = list(_SECTION.finditer(text))
    for mark, following in zip(marks, marks[1:] + [None]):
        body = text[mark.end():following.start() if following else len(text)]
        exchange = mark.group(2)
        if mark.group(1) == "Statistics":
            counters[exchange] = {name: int(value) for name, value in _COUNTER.findall(body)}
        else:
            delays[exchange] = [(float(received) - float(sent)) * 1000.0
                                for sent, received in _TIMESTAMP.findall(body)]
    offer, ack = (ExchangeStats(counters[name].get("sent", 0), counters[name].get("received", 0), delays[name])
                  for name in ("DISCOVER-OFFER", "REQUEST-ACK"))
    return offer, ack


def run_load(command_prefix: list[str], device: str, rate: int, seconds: float, clients: int) -> LoadResult:
    """Offer `rate` DORA exchanges per second for `seconds` from `clients` distinct MACs, relayed from `device`.

    `command_prefix` places perfdhcp in its namespace and on its CPU.
    """
    argv = [*command_prefix, "perfdhcp", "-4", "-l", device, "-r", str(rate), "-p", str(seconds),
            "-R", str(clients), "-W", str(EXIT_WAIT_MICROSECONDS), "-x", "t"]
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    if finished.returncode not in (0, 3):
        raise RuntimeError(f"perfdhcp failed ({finished.returncode}): {finished.stderr.strip()[-300:]}")
    offer, ack = parse_report(finished.stdout)
    return LoadResult(rate, seconds, offer, ack)

