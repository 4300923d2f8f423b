"""Reservations in the lease database: fixed addresses for a MAC, client id or relay circuit id.

These are the reservations added through the REST API (dhcpd.conf `host` statements stay in the
configuration). A reservation's identifiers and its address are each unique where given; breaking that
raises `ReservationConflict`, and nothing is written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dhcpd.leases.models import RESERVATIONS

_COLUMNS = (
    RESERVATIONS.c.id, RESERVATIONS.c.ip, RESERVATIONS.c.mac, RESERVATIONS.c.client_id,
    RESERVATIONS.c.circuit_id, RESERVATIONS.c.hostname, RESERVATIONS.c.options, RESERVATIONS.c.subnet,
    RESERVATIONS.c.created_at,
)


class ReservationConflict(Exception):
    """Another reservation already has this address, MAC, client id or circuit id."""


@dataclass(slots=True)
class ReservationRecord:
    ip: IPv4Address
    mac: bytes | None = None
    client_id: bytes | None = None
    circuit_id: bytes | None = None
    hostname: str | None = None
    options: dict[str, Any] | None = None    # option name or code -> value, as the API received them
    subnet: str | None = None
    id: int | None = None                    # given by the database on add
    created_at: float = field(default=0.0)   # POSIX seconds, set on add


def _values(record: ReservationRecord) -> dict[str, Any]:
    return {
        "ip": int(record.ip), "mac": record.mac, "client_id": record.client_id,
        "circuit_id": record.circuit_id, "hostname": record.hostname, "options": record.options,
        "subnet": record.subnet,
    }


def _record(row) -> ReservationRecord:
    (id_, ip, mac, client_id, circuit_id, hostname, options, subnet, created_at) = row
    return ReservationRecord(IPv4Address(ip), mac, client_id, circuit_id, hostname, options, subnet, id_,
                             created_at)


class ReservationTable:
    """Create, read, update and delete reservations; each call is one transaction."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def add(self, record: ReservationRecord) -> ReservationRecord:
        """Store a new reservation; returns it with its id and creation time."""
        created_at = time.time()
        statement = insert(RESERVATIONS).values(**_values(record), created_at=created_at)
        try:
            with self._engine.begin() as connection:
                new_id = connection.execute(statement).inserted_primary_key[0]
        except IntegrityError as error:
            raise ReservationConflict(str(error.orig)) from error
        return replace(record, id=new_id, created_at=created_at)

    def get(self, reservation_id: int) -> ReservationRecord | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(*_COLUMNS).where(RESERVATIONS.c.id == reservation_id)).first()
        return None if row is None else _record(row)

    def page(self, after_id: int | None, limit: int) -> list[ReservationRecord]:
        """Up to `limit` reservations in id order, after the id `after_id` (None: from the first)."""
        statement = select(*_COLUMNS).order_by(RESERVATIONS.c.id).limit(limit)
        if after_id is not None:
            statement = statement.where(RESERVATIONS.c.id > after_id)
        with self._engine.connect() as connection:
            return [_record(row) for row in connection.execute(statement)]

    def all(self) -> list[ReservationRecord]:
        with self._engine.connect() as connection:
            return [_record(row) for row in connection.execute(select(*_COLUMNS).order_by(RESERVATIONS.c.id))]

    def update(self, record: ReservationRecord) -> bool:
        """Replace the reservation with `record.id`; False when there is none."""
        statement = update(RESERVATIONS).where(RESERVATIONS.c.id == record.id).values(**_values(record))
        try:
            with self._engine.begin() as connection:
                return connection.execute(statement).rowcount == 1
        except IntegrityError as error:
            raise ReservationConflict(str(error.orig)) from error

    def delete(self, reservation_id: int) -> bool:
        """Remove the reservation; False when there is none."""
        with self._engine.begin() as connection:
            return connection.execute(delete(RESERVATIONS).where(RESERVATIONS.c.id == reservation_id)).rowcount == 1
