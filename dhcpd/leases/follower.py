"""Keeping the in-memory lease index current when other servers write to the same database.

Every few seconds `ChangeFollower` reads the rows written since its last look (by the `updated_at` index)
and puts those that differ into the index, so this server stops offering addresses that another server has
given out. It is a cache refresh, not the guard: the database's claim rule is what refuses a duplicate.
Each look reaches back `overlap` seconds before the previous one, so a row whose transaction committed
late (its `updated_at` is the moment it was written, not committed) is still seen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from dhcpd.engine.lease_index import REUSABLE, LeaseIndex
from dhcpd.leases.record import Lease, LeaseState

log = logging.getLogger("dhcpd")

FOLLOW_INTERVAL = 2.0     # seconds between looks
FOLLOW_OVERLAP = 10.0     # seconds each look reaches back before the previous one


class ChangeSource(Protocol):
    def changed_since(self, since: float) -> list[Lease]: ...


class ChangeFollower:
    def __init__(self, store: ChangeSource, index: Callable[[], LeaseIndex], interval: float = FOLLOW_INTERVAL,
                 overlap: float = FOLLOW_OVERLAP) -> None:
        self._store = store
        self._index = index          # the engine's current index (a reload replaces it)
        self._interval = interval
        self._overlap = overlap
        self.applied = 0             # leases taken from the database, for statistics

    def apply(self, changed: Sequence[Lease], now: float) -> int:
        """Put the stored leases that differ from the index into it; returns how many.

        A stored lease that leaves its address free for anyone does not replace an offer made here: the
        offer is newer than the row, and the database still decides when the client asks for it.
        """
        index = self._index()
        count = 0
        for stored in changed:
            current = index.get(stored.ip)
            if current == stored:
                continue
            if current is not None and current.state is LeaseState.OFFERED and _free_for_anyone(stored, now):
                continue
            index.put(stored)
            count += 1
        self.applied += count
        return count

    async def run(self) -> None:
        """Follow the database until cancelled; a failed look is logged and retried at the next interval."""
        since = time.time() - self._overlap
        while True:
            await asyncio.sleep(self._interval)
            started = time.time()
            try:
                changed = await asyncio.to_thread(self._store.changed_since, since)
            except Exception as error:  # the database may be restarting; the next look tries again
                log.warning("could not read lease changes from the database: %s", error)
                continue
            self.apply(changed, started)
            since = started - self._overlap


def _free_for_anyone(lease: Lease, now: float) -> bool:
    return lease.state in REUSABLE or lease.expires <= now
