"""The background reclaim is bounded: a mass expiry is expired and recorded in steps of RECLAIM_BATCH,
with the event loop free to serve packets between steps, and every expired lease reaches the database."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address

import pytest

from dhcpd.config.parser import parse_text
from dhcpd.leases.group_commit import GroupCommitter
from dhcpd.leases.record import Lease, LeaseLink, LeaseState
from dhcpd.leases.store import LeaseStore
from dhcpd.server import RECLAIM_BATCH, Server, Settings

pytestmark = pytest.mark.unit

CONFIG = "subnet 10.80.0.0 netmask 255.255.0.0 { range 10.80.0.1 10.80.255.254; }\n"
EXPIRING = 2 * RECLAIM_BATCH + 123


@pytest.fixture
def store(tmp_path):
    lease_store = LeaseStore(f"sqlite:///{tmp_path / 'leases.sqlite'}")
    lease_store.upgrade()
    first = int(IPv4Address("10.80.0.1"))
    lease_store.save([Lease(ip=IPv4Address(first + n), state=LeaseState.ACTIVE, starts=0.0, expires=1000.0,
                            mac=n.to_bytes(6, "big"), link=LeaseLink(subnet="10.80.0.0/16")) for n in range(EXPIRING)])
    try:
        yield lease_store
    finally:
        lease_store.close()


def test_a_mass_expiry_is_reclaimed_in_bounded_steps_with_the_loop_running_between(store, tmp_path):
    server = Server(Settings(str(tmp_path / "dhcpd.conf"), str(store.engine.url)), parse_text(CONFIG), store)
    index = server.engine.leases
    steps: list[tuple[int | None, int]] = []      # (limit asked, ticks of another task seen so far)
    ticks = 0
    reclaim = index.reclaim

    def recording_reclaim(now, limit=None):
        steps.append((limit, ticks))
        return reclaim(now, limit)

    index.reclaim = recording_reclaim

    async def scenario() -> None:
        nonlocal ticks
        server.committer = GroupCommitter(store)
        server.committer.start()
        sweep = asyncio.get_running_loop().create_task(server.reclaim_expired(2000.0))
        while not sweep.done():
            ticks += 1
            await asyncio.sleep(0)
        await sweep
        await server.committer.stop()

    asyncio.run(scenario())
    assert len(steps) >= EXPIRING // RECLAIM_BATCH + 1
    assert all(limit == RECLAIM_BATCH for limit, _ in steps)
    seen = [tick for _, tick in steps]
    assert seen == sorted(set(seen)), "another task must run between two steps"
    assert {lease.state for lease in store.load_all()} == {LeaseState.EXPIRED}
    assert len(store.load_all()) == EXPIRING
