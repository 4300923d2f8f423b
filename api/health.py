"""/api/v1/health: is the server up and its database reachable."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import AdminDep
from api.schemas import Health

router = APIRouter(tags=["health"])


def _probe(engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


@router.get("/health", response_model=Health)
async def health(admin: AdminDep) -> Health:
    try:
        await asyncio.to_thread(_probe, admin.store.engine)
        database = "ok"
    except SQLAlchemyError as error:
        database = f"unreachable: {error.__class__.__name__}"
    return Health(status="ok" if database == "ok" else "degraded", database=database,
                  leases_in_memory=len(admin.engine.leases), reservations=len(admin.reservations(None, 10**9)))
