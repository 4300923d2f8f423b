"""Unit tests of GroupCommitter: batching of concurrent callers, per-caller lost addresses, failure
propagation, draining on stop, and committing in the caller's thread (`commit_now`) only when nothing needs
to wait."""

import asyncio
import os
import sqlite3
import threading
from ipaddress import IPv4Address

import pytest
from sqlalchemy import event

from dhcpd.leases.group_commit import CHECKPOINT_NICENESS, GroupCommitter
from dhcpd.leases.record import Lease, LeaseLink, LeaseState

pytestmark = pytest.mark.unit


def lease(n: int) -> Lease:
    return Lease(IPv4Address(0x0A000000 + n), LeaseState.ACTIVE, 0.0, 3600.0)


class GatedStore:
    """Records each claim; a claim blocks until the test opens the gate, fails while `failing` is set, and
    loses the addresses in `held_by_others`."""

    def __init__(self):
        self.saved: list[list[Lease]] = []
        self.gate = threading.Event()
        self.failing = False
        self.held_by_others: set[IPv4Address] = set()

    def claim(self, leases):
        self.gate.wait()
        if self.failing:
            raise OSError("disk full")
        self.saved.append(list(leases))
        return {lease.ip for lease in leases} & self.held_by_others

    def claim_unless_locked(self, leases):
        return None   # as if the write lock were always taken: every batch goes through the thread

    def checkpoint(self):
        pass


async def until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.001)


def test_callers_arriving_during_a_commit_share_the_next_transaction():
    async def scenario():
        store = GatedStore()
        committer = GroupCommitter(store)
        committer.start()
        first = asyncio.create_task(committer.persist([lease(0)]))
        await until(lambda: committer.transactions == 1)
        waiting = [asyncio.create_task(committer.persist([lease(n)])) for n in range(1, 101)]
        await asyncio.sleep(0)
        store.gate.set()
        await asyncio.gather(first, *waiting)
        await committer.stop()
        return store.saved

    saved = asyncio.run(scenario())
    assert [len(batch) for batch in saved] == [1, 100]
    assert {l.ip for l in saved[1]} == {lease(n).ip for n in range(1, 101)}


def test_each_caller_learns_only_its_own_lost_addresses():
    async def scenario():
        store = GatedStore()
        store.held_by_others = {lease(1).ip, lease(3).ip}
        store.gate.set()
        committer = GroupCommitter(store)
        committer.start()
        outcomes = await asyncio.gather(committer.persist([lease(0), lease(1)]), committer.persist([lease(2)]),
                                        committer.persist([lease(3)]))
        await committer.stop()
        return outcomes

    assert asyncio.run(scenario()) == [frozenset({lease(1).ip}), frozenset(), frozenset({lease(3).ip})]


def test_a_failed_commit_reaches_every_caller_in_it_and_later_batches_still_commit():
    async def scenario():
        store = GatedStore()
        store.failing = True
        committer = GroupCommitter(store)
        committer.start()
        doomed = [asyncio.create_task(committer.persist([lease(n)])) for n in range(10)]
        await asyncio.sleep(0)
        store.gate.set()
        outcomes = await asyncio.gather(*doomed, return_exceptions=True)
        store.failing = False
        await committer.persist([lease(99)])
        await committer.stop()
        return outcomes, store.saved

    outcomes, saved = asyncio.run(scenario())
    assert all(isinstance(outcome, OSError) for outcome in outcomes)
    assert saved == [[lease(99)]]


def test_stop_commits_what_is_pending_and_refuses_later_calls():
    async def scenario():
        store = GatedStore()
        committer = GroupCommitter(store)
        committer.start()
        callers = [asyncio.create_task(committer.persist([lease(n)])) for n in range(5)]
        await asyncio.sleep(0)
        stopping = asyncio.create_task(committer.stop())
        await asyncio.sleep(0)
        store.gate.set()
        await stopping
        await asyncio.gather(*callers)
        with pytest.raises(RuntimeError):
            await committer.persist([lease(6)])
        return store.saved

    saved = asyncio.run(scenario())
    assert sorted(l.ip for batch in saved for l in batch) == [lease(n).ip for n in range(5)]


def test_concurrent_callers_on_sqlite_commit_in_fewer_transactions_than_callers(store):
    commits = []
    event.listen(store.engine, "commit", lambda connection: commits.append(1))

    async def scenario():
        committer = GroupCommitter(store)
        committer.start()
        await asyncio.gather(*(committer.persist([lease(n)]) for n in range(200)))
        await committer.stop()
        return committer.transactions

    transactions = asyncio.run(scenario())
    assert len(store.load_all()) == 200
    assert len(commits) == transactions < 200


def test_callers_of_one_loop_turn_share_one_transaction():
    async def scenario():
        store = GatedStore()
        store.gate.set()
        committer = GroupCommitter(store)
        committer.start()
        await asyncio.gather(*(committer.persist([lease(n)]) for n in range(10)))
        await committer.stop()
        return store.saved

    assert [len(batch) for batch in asyncio.run(scenario())] == [10]


def test_a_cancelled_caller_leaves_the_others_of_its_transaction_served():
    async def scenario():
        store = GatedStore()
        committer = GroupCommitter(store)
        committer.start()
        callers = [asyncio.create_task(committer.persist([lease(n)])) for n in range(3)]
        await until(lambda: committer.transactions == 1)
        callers[1].cancel()
        store.gate.set()
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
        await committer.stop()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert outcomes[0] == outcomes[2] == frozenset()
    assert isinstance(outcomes[1], asyncio.CancelledError)


def test_commit_now_writes_before_it_returns_and_reports_lost_addresses(store):
    taken = Lease(lease(1).ip, LeaseState.ACTIVE, 0.0, 1e10, mac=b"other!")
    store.claim([taken])

    async def scenario():
        committer = GroupCommitter(store)
        committer.start()
        mine = [Lease(lease(n).ip, LeaseState.ACTIVE, 0.0, 1e10, mac=b"mine!!") for n in range(3)]
        lost = committer.commit_now(mine)
        stored = {l.ip: l.mac for l in store.load_all()}   # before the loop ran anything else
        await committer.stop()
        return lost, stored, committer.transactions

    lost, stored, transactions = asyncio.run(scenario())
    assert lost == frozenset({lease(1).ip})
    assert stored == {lease(0).ip: b"mine!!", lease(1).ip: b"other!", lease(2).ip: b"mine!!"}
    assert transactions == 1


def test_commit_now_declines_without_waiting_while_another_connection_holds_the_write_lock(store):
    locker = sqlite3.connect(store.engine.url.database, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")

    async def scenario():
        committer = GroupCommitter(store)
        committer.start()
        declined = committer.commit_now([lease(0)])
        waiting = asyncio.create_task(committer.persist([lease(0)]))   # the thread waits for the lock
        await asyncio.sleep(0.1)
        assert not waiting.done()
        locker.execute("COMMIT")
        await waiting
        await committer.stop()
        return declined

    try:
        assert asyncio.run(scenario()) is None
    finally:
        locker.close()
    assert [l.ip for l in store.load_all()] == [lease(0).ip]


def test_commit_now_declines_while_a_thread_transaction_is_queued_so_writes_keep_their_order(store):
    async def scenario():
        committer = GroupCommitter(store)
        committer.start()
        older = asyncio.create_task(committer.persist([Lease(lease(0).ip, LeaseState.ACTIVE, 0.0, 1e10)]))
        await asyncio.sleep(0)   # queued for the thread
        declined = committer.commit_now([Lease(lease(0).ip, LeaseState.RELEASED, 0.0, 1e10)])
        await older
        await committer.stop()
        return declined

    assert asyncio.run(scenario()) is None
    assert store.load_all()[0].state is LeaseState.ACTIVE


def test_the_write_ahead_log_stays_small_while_the_loop_commits_one_lease_at_a_time(store):
    wal = f"{store.engine.url.database}-wal"

    async def scenario():
        committer = GroupCommitter(store)
        committer.start()
        largest = 0
        for n in range(3000):
            assert committer.commit_now([Lease(lease(n).ip, LeaseState.ACTIVE, 0.0, 1e10, mac=n.to_bytes(6, "big"),
                                               link=LeaseLink(subnet="10.0.0.0/8", interface="eth1"))]) == frozenset()
            await asyncio.sleep(0.0002)   # as between packets: the worker thread copies the log meanwhile
            largest = max(largest, os.path.getsize(wal))
        await committer.stop()
        return largest

    largest = asyncio.run(scenario())
    # Each one-lease commit appends about ten 4 KiB pages: without checkpoints the log would pass 100 MiB.
    assert largest < 16 << 20, largest
    assert len(store.load_all()) == 3000


def test_the_checkpoint_thread_runs_at_the_checkpoint_niceness():
    async def scenario():
        committer = GroupCommitter(GatedStore())
        committer.start()
        checkpointer = committer._checkpointer.native_id
        await until(lambda: os.getpriority(os.PRIO_PROCESS, checkpointer) == CHECKPOINT_NICENESS)
        await committer.stop()

    asyncio.run(asyncio.wait_for(scenario(), 5))
    assert CHECKPOINT_NICENESS > 0
