"""Rate search: the highest offered DORA rate a server completes with less than 1% loss, in a few bounded steps.

The first step offers the ceiling (what perfdhcp can send here). After a failure and before any success the
next rate is 90% of what the failing step completed (a capacity estimate, kept within 1/8 and 95% of the
failing rate); once a passing and a failing rate are known, the search bisects geometrically between them
until they are within 5% or the steps run out.
"""

import math
from dataclasses import dataclass
from typing import Callable

from bench.perfdhcp import LoadResult

LOSS_LIMIT = 0.01
CLOSE_ENOUGH = 1.05


@dataclass(frozen=True)
class Step:
    """One load step: perfdhcp's result and the server CPU seconds spent during it."""

    load: LoadResult
    server_cpu_seconds: float

    @property
    def passed(self) -> bool:
        return self.load.loss < LOSS_LIMIT

    @property
    def cpu_microseconds_per_dora(self) -> float | None:
        completed = self.load.completed
        return self.server_cpu_seconds * 1e6 / completed if completed else None


def _next_rate(passing: int | None, failing: int, failed_step: Step) -> int:
    if passing is None:
        estimate = int(0.9 * failed_step.load.completed_per_second)
        return max(failing // 8, min(estimate, int(failing * 0.95)))
    return int(math.sqrt(passing * failing))


def search_rate(measure: Callable[[int], Step], ceiling: int, max_steps: int) -> tuple[Step | None, list[Step]]:
    """Run at most `max_steps` load steps; the best passing step (or None) and every step in order."""
    steps: list[Step] = []
    best: Step | None = None
    passing: int | None = None
    failing: int | None = None
    rate = ceiling
    for _ in range(max_steps):
        step = measure(rate)
        steps.append(step)
        if step.passed:
            passing = rate
            best = step if best is None or step.load.rate > best.load.rate else best
        else:
            failing = rate
        if failing is None or rate < 1 or (passing is not None and failing <= passing * CLOSE_ENOUGH):
            break
        rate = _next_rate(passing, failing, step)
        if rate < 1 or rate == failing:
            break
    return best, steps
