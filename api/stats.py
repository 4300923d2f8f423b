"""/api/v1/stats: Kea-like counters of the packet path."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServerDep
from api.schemas import StatsOut

router = APIRouter(tags=["stats"])

MALFORMED_PREFIX = "malformed:"
NO_FREE_LEASES = "no-free-leases"


def current_stats(server) -> StatsOut:
    counters = server.stats
    transmitter = getattr(server, "transmitter", None)
    return StatsOut(
        received=dict(counters.received), sent=dict(counters.sent),
        parse_failures=sum(n for reason, n in counters.drops.items() if reason.startswith(MALFORMED_PREFIX)),
        drops=dict(counters.drops), allocation_failures=counters.drops[NO_FREE_LEASES],
        commit_failures=counters.commit_failures,
        transmit_errors=dict(transmitter.errors) if transmitter is not None else {},
        leases_in_memory=len(server.engine.leases),
    )


@router.get("/stats", response_model=StatsOut)
async def get_stats(server: ServerDep) -> StatsOut:
    return current_stats(server)
