"""Crash test: a lease reported committed by GroupCommitter (in the caller's thread or the worker's) is in the
database after a SIGKILL.

The test runs this file as a script in a child process that persists leases and prints each address once
`persist()` has returned, kills the child mid-way, and looks for every printed address in the database.
"""

import asyncio
import os
import signal
import subprocess
import sys
from ipaddress import IPv4Address
from pathlib import Path

import pytest

import dhcpd
from dhcpd.leases.group_commit import GroupCommitter
from dhcpd.leases.record import Lease, LeaseState
from dhcpd.leases.store import LeaseStore

CONCURRENT_CALLERS = 50
ADDRESSES_BEFORE_KILL = 2_000


async def persist_forever(url: str, durability: str) -> None:
    store = LeaseStore(url, durability)
    store.upgrade()
    committer = GroupCommitter(store)
    committer.start()
    print("ready", flush=True)

    async def caller(first: int) -> None:
        for n in range(first, 1 << 24, CONCURRENT_CALLERS):
            address = IPv4Address(0x0A000000 + n)
            leases = [Lease(address, LeaseState.ACTIVE, 0.0, 3600.0, mac=n.to_bytes(6, "big"))]
            # As the server does: in this thread when nothing waits for the worker, else through it (and some
            # callers always through it, so that both ways are under way when the kill comes).
            if n % 7 == 0 or committer.commit_now(leases) is None:
                await committer.persist(leases)
            else:
                await asyncio.sleep(0)
            print(address, flush=True)

    await asyncio.gather(*(caller(first) for first in range(CONCURRENT_CALLERS)))


@pytest.mark.unit
@pytest.mark.slow
@pytest.mark.parametrize("durability", ["power-loss", "crash"])
def test_every_acknowledged_lease_survives_sigkill(tmp_path, durability):
    url = f"sqlite:///{tmp_path / 'leases.sqlite'}"
    source_root = str(Path(dhcpd.__file__).resolve().parents[1])
    child = subprocess.Popen([sys.executable, __file__, url, durability], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": source_root})
    try:
        assert child.stdout.readline() == "ready\n"
        acknowledged = [child.stdout.readline().strip() for _ in range(ADDRESSES_BEFORE_KILL)]
        child.send_signal(signal.SIGKILL)
        acknowledged += child.stdout.read().split()
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    store = LeaseStore(url)
    try:
        stored = {str(lease.ip) for lease in store.load_all()}
    finally:
        store.close()
    assert set(acknowledged) <= stored


if __name__ == "__main__":
    asyncio.run(persist_forever(sys.argv[1], sys.argv[2]))
