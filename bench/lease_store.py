"""Benchmark of the lease database on SQLite (WAL, synchronous=FULL) in a temporary folder.

Measures saving and loading a population of leases, paging through it, and the durable commit rate of
single-lease `GroupCommitter.persist` calls with 1 caller against many concurrent callers.
With --claim-cpu it measures instead the CPU that claiming costs per lease (this thread's CPU time, the fsync
included, median of many batches) by batch size and durability, for fresh addresses and for renewals of
stored ones, on a store of --claim-population leases of random clients: `claim_unless_locked` as the server's
event loop commits ("loop"), and `claim` as the commit thread does when the loop cannot ("thread").
Run: python -m bench.lease_store [--leases 1000000] [--seconds 3] [--callers 200]
     python -m bench.lease_store --claim-cpu [--claim-population 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from ipaddress import IPv4Address
from pathlib import Path

from dhcpd.leases.database import DURABILITY_LEVELS
from dhcpd.leases.group_commit import GroupCommitter
from dhcpd.leases.record import Lease, LeaseLink, LeaseState
from dhcpd.leases.store import LeaseStore

FIRST_ADDRESS = int(IPv4Address("10.0.0.0"))
CLAIM_BATCH_SIZES = (1, 8, 32, 128)
CLAIMED_PER_MEASUREMENT = 2048   # leases claimed for each (durability, kind, batch size), at least 15 batches


def population(count: int) -> list[Lease]:
    return [
        Lease(IPv4Address(FIRST_ADDRESS + n), LeaseState.ACTIVE, 1.7e9, 1.7e9 + 3600, mac=n.to_bytes(6, "big"),
              hostname=f"host{n}", link=LeaseLink(subnet=f"10.{n >> 16}.{(n >> 8) & 255}.0/24",
                                                  interface=f"vlan{n >> 8}", vlan=(n >> 8) & 4095))
        for n in range(count)
    ]


def timed(label: str, action) -> object:
    """Run `action`, printing its wall time and the CPU time of this process (robust to a busy machine)."""
    began, began_cpu = time.perf_counter(), time.process_time()
    result = action()
    print(f"{label}: {time.perf_counter() - began:.2f} s wall, {time.process_time() - began_cpu:.2f} s CPU")
    return result


async def commit_rate(store: LeaseStore, callers: int, seconds: float, offset: int) -> tuple[float, float]:
    """Persisted leases per second and transactions per second, each caller persisting one lease at a time."""
    committer = GroupCommitter(store)
    committer.start()
    deadline = time.perf_counter() + seconds
    persisted = 0

    async def caller(index: int) -> None:
        nonlocal persisted
        n = offset + index
        while time.perf_counter() < deadline:
            await committer.persist([Lease(IPv4Address(FIRST_ADDRESS + n), LeaseState.ACTIVE, 0.0, 3600.0)])
            persisted += 1
            n += callers

    began = time.perf_counter()
    await asyncio.gather(*(caller(index) for index in range(callers)))
    await committer.stop()
    elapsed = time.perf_counter() - began
    return persisted / elapsed, committer.transactions / elapsed


def client_lease(n: int, mac: bytes) -> Lease:
    """An acknowledged lease of address number `n` as the server writes it, for the client `mac`."""
    now = time.time()
    return Lease(IPv4Address(FIRST_ADDRESS + n), LeaseState.ACTIVE, now, now + 3600, mac=mac, client_id=b"\x01" + mac,
                 hostname=f"host-{mac.hex()}", link=LeaseLink(subnet=f"10.{n >> 16}.{(n >> 8) & 255}.0/24",
                                                             interface=f"vlan{(n >> 8) & 4095}", ifindex=5,
                                                             vlan=(n >> 8) & 4095))


def claim_cpu(folder: Path, durability: str, population: int) -> None:
    """Print the median CPU per lease of each way of claiming, by batch size, for fresh addresses and renewals."""
    store = LeaseStore(f"sqlite:///{folder / f'claim-{durability}.sqlite'}", durability)
    try:
        store.upgrade()
        macs = [random.randbytes(6) for _ in range(population)]
        store.save([client_lease(n, mac) for n, mac in enumerate(macs)])
        next_fresh = population
        for way, claim in (("loop", store.claim_unless_locked), ("thread", store.claim)):
            for kind in ("fresh", "renew"):
                medians = []
                for size in CLAIM_BATCH_SIZES:
                    per_lease = []
                    for _ in range(max(15, CLAIMED_PER_MEASUREMENT // size)):
                        if kind == "fresh":
                            numbers = range(next_fresh, next_fresh + size)
                            next_fresh += size
                            batch = [client_lease(n, random.randbytes(6)) for n in numbers]
                        else:
                            batch = [client_lease(n, macs[n]) for n in random.sample(range(population), size)]
                        began = time.thread_time()
                        lost = claim(batch)
                        per_lease.append((time.thread_time() - began) / size * 1e6)
                        assert lost == set()
                    store.checkpoint()   # as the server's commit thread does, outside the measured time
                    medians.append(f"batch {size}: {statistics.median(per_lease):5.1f}")
                print(f"claim CPU, {durability}, {way}, {kind}: {', '.join(medians)} µs/lease")
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leases", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--claim-cpu", action="store_true", help="measure only the CPU per lease of claim")
    parser.add_argument("--claim-population", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lease-bench-") as folder:
        if args.claim_cpu:
            for durability in DURABILITY_LEVELS:
                claim_cpu(Path(folder), durability, args.claim_population)
            return
        store = LeaseStore(f"sqlite:///{Path(folder) / 'leases.sqlite'}")
        try:
            store.upgrade()
            leases = timed(f"build {args.leases} Lease objects", lambda: population(args.leases))
            timed(f"save {args.leases} leases (one transaction)", lambda: store.save(leases))
            loaded = timed(f"load_all {args.leases} leases", store.load_all)
            assert len(loaded) == args.leases
            timed("page 1000 leases from the middle",
                  lambda: store.page(IPv4Address(FIRST_ADDRESS + args.leases // 2), 1000))
            for callers in (1, args.callers):
                leases_per_s, commits_per_s = asyncio.run(
                    commit_rate(store, callers, args.seconds, offset=args.leases))
                print(f"group commit, {callers} callers: {leases_per_s:.0f} leases/s durable, "
                      f"{commits_per_s:.0f} transactions/s")
        finally:
            store.close()


if __name__ == "__main__":
    main()
