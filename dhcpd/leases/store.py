"""The lease store: loads, saves and queries `Lease` records in SQLite or PostgreSQL.

`save` is an upsert by address in one transaction; the database's primary key on the address is what keeps
one address from two clients. Loading and paging use Core selects of plain tuples (no ORM objects), so a
million leases load in seconds. Reservations live in the same database (`LeaseStore.reservations`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from dhcpd.leases.database import DEFAULT_DB_URL, create_db_engine, upgrade_engine, upgrade_schema
from dhcpd.leases.models import LEASE_COLUMNS, LEASES, lease_from_tuple, lease_to_row
from dhcpd.leases.record import Lease, LeaseState
from dhcpd.leases.reservations import ReservationTable

__all__ = ["DEFAULT_DB_URL", "LeaseFilter", "LeaseStore", "upgrade_schema"]

_UPSERT_DIALECTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True, slots=True)
class LeaseFilter:
    """Exact-match conditions for `LeaseStore.page`; None means any."""
    mac: bytes | None = None
    client_id: bytes | None = None
    hostname: str | None = None
    interface: str | None = None
    vlan: int | None = None
    subnet: str | None = None          # as stored, e.g. "10.0.0.0/24"
    state: LeaseState | None = None

    def conditions(self) -> list:
        given = {
            LEASES.c.mac: self.mac, LEASES.c.client_id: self.client_id, LEASES.c.hostname: self.hostname,
            LEASES.c.interface: self.interface, LEASES.c.vlan: self.vlan, LEASES.c.subnet: self.subnet,
            LEASES.c.state: None if self.state is None else self.state.value,
        }
        return [column == value for column, value in given.items() if value is not None]


class LeaseStore:
    def __init__(self, url: str = DEFAULT_DB_URL):
        self.engine = create_db_engine(url)
        self.reservations = ReservationTable(self.engine)
        self._upsert = self._upsert_statement()
        self._delete_one = delete(LEASES).where(LEASES.c.ip == bindparam("delete_ip"))

    def _upsert_statement(self):
        dialect = self.engine.dialect.name
        if dialect not in _UPSERT_DIALECTS:
            raise ValueError(f"lease database {dialect!r} is not supported: use sqlite or postgresql")
        statement = _UPSERT_DIALECTS[dialect](LEASES)
        updated = {column.name: statement.excluded[column.name] for column in LEASES.c if column.name != "ip"}
        return statement.on_conflict_do_update(index_elements=[LEASES.c.ip], set_=updated)

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        upgrade_engine(self.engine)

    def load_all(self) -> list[Lease]:
        # Millions of new objects and none of them cyclic: the cyclic collector would run hundreds of times
        # for nothing (measured: it doubles the time), so it is paused while they are made.
        collector_was_enabled = gc.isenabled()
        gc.disable()
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(select(*LEASE_COLUMNS)).all()
            return [lease_from_tuple(row) for row in rows]
        finally:
            if collector_was_enabled:
                gc.enable()

    def save(self, leases: Sequence[Lease]) -> None:
        """Insert or replace `leases` by address, all in one transaction; the last of one address wins."""
        if not leases:
            return
        now = time.time()
        # One row per address: PostgreSQL refuses to update a row twice in one statement.
        rows = {int(lease.ip): lease_to_row(lease, now) for lease in leases}
        with self.engine.begin() as connection:
            connection.execute(self._upsert, list(rows.values()))

    def delete(self, ips: Sequence[IPv4Address]) -> None:
        if not ips:
            return
        with self.engine.begin() as connection:
            connection.execute(self._delete_one, [{"delete_ip": int(ip)} for ip in ips])

    def delete_subnet(self, network: IPv4Network) -> int:
        """Remove every lease whose address lies in `network`; returns how many."""
        in_network = LEASES.c.ip.between(int(network.network_address), int(network.broadcast_address))
        with self.engine.begin() as connection:
            return connection.execute(delete(LEASES).where(in_network)).rowcount

    def get(self, ip: IPv4Address) -> Lease | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(*LEASE_COLUMNS).where(LEASES.c.ip == int(ip))).first()
        return None if row is None else lease_from_tuple(row)

    def page(self, after_ip: IPv4Address | None, limit: int, filters: LeaseFilter = LeaseFilter()) -> list[Lease]:
        """Up to `limit` leases matching `filters` in address order, after `after_ip` (None: from the first).

        The cursor is the last address of the previous page and the walk follows the primary key, so no page
        repeats a lease, and a lease that exists for the whole walk is on exactly one page.
        """
        conditions = filters.conditions()
        if after_ip is not None:
            conditions.append(LEASES.c.ip > int(after_ip))
        statement = select(*LEASE_COLUMNS).where(*conditions).order_by(LEASES.c.ip).limit(limit)
        with self.engine.connect() as connection:
            return [lease_from_tuple(row) for row in connection.execute(statement)]

    def close(self) -> None:
        self.engine.dispose()
