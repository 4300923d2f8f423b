"""Group commit: many concurrent `persist` calls from the event loop become one database transaction.

A DHCPACK may leave only once its lease is durable, and a durable commit costs an fsync. The committer lets
every caller wait for its own leases while one worker thread commits, and the next transaction carries
everything that arrived during the previous one, so throughput grows with the number of waiting clients.
Each caller learns which of its addresses were lost to another client (another server sharing the database
wrote them first). If a transaction fails, every caller in it gets the exception; later batches are tried
afresh (the store's pool reconnects if the database went away in between).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address
from typing import Protocol

from dhcpd.leases.record import Lease


class LeaseClaimer(Protocol):
    def claim(self, leases: Sequence[Lease]) -> set[IPv4Address]: ...


class GroupCommitter:
    def __init__(self, store: LeaseClaimer):
        self._store = store
        self._pending: list[tuple[Sequence[Lease], asyncio.Future[frozenset[IPv4Address]]]] = []
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._stopping = False
        self.transactions = 0       # batches committed or attempted, for statistics

    def start(self) -> None:
        """Begin committing; call from the running event loop."""
        if self._worker is not None:
            raise RuntimeError("group committer already started")
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lease-commit")
        self._worker = asyncio.get_running_loop().create_task(self._commit_batches(), name="lease-commit")

    async def stop(self) -> None:
        """Commit what is pending, then stop; later `persist` calls raise RuntimeError."""
        if self._worker is None:
            return
        self._stopping = True
        self._wakeup.set()
        await self._worker
        self._executor.shutdown(wait=True)
        self._worker = None

    async def persist(self, leases: Sequence[Lease]) -> frozenset[IPv4Address]:
        """Return once `leases` are committed durably, with the addresses among them that were lost to
        another client (not written); raise what the commit raised if it failed."""
        if self._worker is None or self._stopping:
            raise RuntimeError("group committer is not running")
        if not leases:
            return frozenset()
        done: asyncio.Future[frozenset[IPv4Address]] = asyncio.get_running_loop().create_future()
        self._pending.append((leases, done))
        self._wakeup.set()
        return await done

    async def _commit_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._commit(loop, batch)
            if self._stopping and not self._pending:
                return

    async def _commit(self, loop: asyncio.AbstractEventLoop, batch) -> None:
        leases = [lease for requested, _ in batch for lease in requested]
        self.transactions += 1
        try:
            lost = await loop.run_in_executor(self._executor, self._store.claim, leases)
        except Exception as error:  # every waiter learns of the failure; the committer carries on
            for _, done in batch:
                if not done.done():
                    done.set_exception(error)
        else:
            for requested, done in batch:
                if not done.done():
                    done.set_result(frozenset(lease.ip for lease in requested if lease.ip in lost))
