"""/api/v1/reservations: fixed addresses stored in the database beside dhcpd.conf's hosts; each change is in
effect for the next request and survives restarts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import AdminDep
from api.schemas import ReservationIn, ReservationOut, ReservationPage

router = APIRouter(tags=["reservations"])


@router.get("/reservations", response_model=ReservationPage)
async def list_reservations(admin: AdminDep, limit: Annotated[int, Query(ge=1, le=10000)] = 100,
                            cursor: Annotated[int | None, Query(ge=0)] = None) -> ReservationPage:
    records = admin.reservations(cursor, limit)
    next_cursor = records[-1].id if len(records) == limit else None
    return ReservationPage(reservations=[ReservationOut.of(record) for record in records], next_cursor=next_cursor)


@router.post("/reservations", response_model=ReservationOut, status_code=status.HTTP_201_CREATED)
async def add_reservation(admin: AdminDep, body: ReservationIn) -> ReservationOut:
    """409 when another reservation, a dhcpd.conf host or a current lease has the address or identifier;
    422 when the address lies outside every subnet or an option does not encode."""
    return ReservationOut.of(await admin.add_reservation(body.to_record()))


@router.get("/reservations/{reservation_id}", response_model=ReservationOut)
async def get_reservation(admin: AdminDep, reservation_id: int) -> ReservationOut:
    return ReservationOut.of(admin.reservation(reservation_id))


@router.put("/reservations/{reservation_id}", response_model=ReservationOut)
async def replace_reservation(admin: AdminDep, reservation_id: int, body: ReservationIn) -> ReservationOut:
    return ReservationOut.of(await admin.update_reservation(body.to_record(reservation_id)))


@router.delete("/reservations/{reservation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_reservation(admin: AdminDep, reservation_id: int) -> None:
    await admin.delete_reservation(reservation_id)
