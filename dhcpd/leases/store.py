"""The lease store: loads, saves and queries `Lease` records in SQLite or PostgreSQL.

`claim` is how the server writes: an upsert by address that only takes a row which is absent, belongs to
the same client, is reusable or has run out, and reports the addresses it could not take. The check runs
inside the database (`INSERT ... ON CONFLICT (ip) DO UPDATE ... WHERE ... RETURNING ip`), so several
servers on one PostgreSQL never give one address to two clients. On SQLite the statement has no RETURNING:
the cursor's rowcount after each row tells whether it was written. RETURNING (like a multi-row VALUES) makes
SQLite keep a statement journal, a copy of every page the statement changes, plus a temporary b-tree for the
returned rows (measured: about 15 µs more per lease, nearly half of inserting a fresh one).
`claim_unless_locked` is the same claim for the server's event loop on SQLite: on its own driver connection,
which never waits for the write lock (it returns None instead, and the caller commits from a thread), and
without SQLAlchemy's per-transaction work (measured per one-lease transaction: 171 → 84 µs of CPU with
synchronous=FULL, 91 → 65 µs with NORMAL). `save`
overwrites unconditionally (the admin API, imports). Loading and paging use Core selects of plain tuples (no ORM objects), so a million
leases load in seconds. Reservations live in the same database (`LeaseStore.reservations`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import import_module
from ipaddress import IPv4Address, IPv4Network

from sqlalchemy import Connection, and_, bindparam, delete, literal_column, or_, select
from sqlalchemy.dialects import sqlite

from dhcpd.gc_pause import making_long_lived
from dhcpd.leases.bulk import insert_new_leases, lease_rows
from dhcpd.leases.database import DEFAULT_DB_URL, create_db_engine, upgrade_engine, upgrade_schema
from dhcpd.leases.models import (
    LEASE_COLUMNS, LEASES, lease_from_tuple, lease_to_row, leases_from_loaded, loaded_lease_columns,
)
from dhcpd.leases.record import Lease, LeaseState
from dhcpd.leases.reservations import ReservationTable

__all__ = ["DEFAULT_DB_URL", "LeaseFilter", "LeaseStore", "upgrade_schema"]

_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6   # sqlite3 result codes: the write lock is held by another connection


# sqlite3 binds an int, float, str or bytearray as it is and first "adapts" any other value: with no adapter
# registered for its type, that costs an AttributeError raised and cleared, and of the 16 values of a lease row
# up to 7 are None and 4 bytes. With an adapter that gives the value back, the lookup finds one at once and the
# value is bound as before (callgrind, a lease with 6 None and 1 bytes: 12,600 instructions fewer per claim).
# The adapters are C callables, which sqlite3 calls without a Python frame (callgrind, per value against a Python
# function returning its argument: 225 instructions fewer for None, 326 for bytes): an empty dict's `get` gives
# None for any key, `bytes.__bytes__` gives an exact bytes object itself.
_NO_ENTRIES: dict = {}
sqlite3.register_adapter(type(None), _NO_ENTRIES.get)
sqlite3.register_adapter(bytes, bytes.__bytes__)
# Databases with an upsert (`insert(...).on_conflict_do_update`), each in its dialect's module: the PostgreSQL
# dialect (2 MiB resident) is imported only for a PostgreSQL database.
_UPSERT_DIALECTS = ("sqlite", "postgresql")
# States of a stored row whose address another client may take (the engine's REUSABLE, as stored).
_TAKEABLE_STATES = tuple(state.value for state in (LeaseState.FREE, LeaseState.BACKUP, LeaseState.RELEASED,
                                                   LeaseState.EXPIRED))


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
        conditions = [column == value for column, value in given.items() if value is not None]
        if self.subnet is not None:  # its address range, so that the walk uses the primary key, not a table scan
            network = IPv4Network(self.subnet)
            conditions.append(LEASES.c.ip.between(int(network.network_address), int(network.broadcast_address)))
        return conditions


class LeaseStore:
    def __init__(self, url: str = DEFAULT_DB_URL, durability: str = "power-loss"):
        self.engine = create_db_engine(url, durability)
        self.reservations = ReservationTable(self.engine)
        self._upsert, claim = self._upsert_statements()
        # A server database (not an embedded file) may be shared by several DHCP servers.
        self.shared = self.engine.dialect.name == "postgresql"
        # The claim as driver SQL with positional parameters, for the tuples of `lease_rows` (the table's
        # column order): run straight on the DBAPI cursor, it skips SQLAlchemy's per-call parameter
        # processing, which on SQLite cost more CPU than the commit itself.
        if self.shared:
            claim_sql = claim.returning(LEASES.c.ip).compile(dialect=type(self.engine.dialect)(paramstyle="format"))
            self._claim_lost = _pipelined_lost
        else:
            claim_sql = claim.compile(dialect=sqlite.dialect(paramstyle="qmark"))
            self._claim_lost = _each_lost
        self._claim_sql = str(claim_sql)
        self._unwaiting = None   # the driver connection of `claim_unless_locked`, opened on first use
        self._unwaiting_claims: sqlite3.Cursor | None = None   # and its one cursor
        self._checkpoint_to_finish = False   # see `checkpoint`
        self._delete_one = delete(LEASES).where(LEASES.c.ip == bindparam("delete_ip"))
        loading = select(*loaded_lease_columns(self.engine.dialect.name))
        self._load_sql = str(loading.compile(dialect=self.engine.dialect))

    def _upsert_statements(self):
        """The unconditional upsert, and the claiming one that writes only where `takeable`."""
        dialect = self.engine.dialect.name
        if dialect not in _UPSERT_DIALECTS:
            raise ValueError(f"lease database {dialect!r} is not supported: use sqlite or postgresql")
        statement = import_module(f"sqlalchemy.dialects.{dialect}").insert(LEASES)
        new = statement.excluded
        updated = {column.name: new[column.name] for column in LEASES.c if column.name != "ip"}
        stored = LEASES.c
        # Same ownership rule as the engine: by client identifier, else by MAC on a row that has none.
        same_client = or_(stored.client_id == new.client_id, and_(stored.client_id.is_(None), stored.mac == new.mac))
        # The states are inline constants: a bound IN list cannot be used with executemany.
        reusable = stored.state.in_([literal_column(f"'{state}'") for state in _TAKEABLE_STATES])
        takeable = or_(same_client, reusable, stored.expires < new.updated_at)
        upsert = statement.on_conflict_do_update(index_elements=[stored.ip], set_=updated)
        claim = statement.on_conflict_do_update(index_elements=[stored.ip], set_=updated, where=takeable)
        return upsert, claim

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        upgrade_engine(self.engine)

    def load_all(self) -> list[Lease]:
        # Millions of new objects and none of them cyclic: the cyclic collector would run hundreds of times
        # for nothing (measured: it doubles the time), so it is paused while they are made.
        with making_long_lived():
            # Row by row from the driver's cursor: a list of every row first would hold a million tuples
            # beside the leases, and the memory they leave behind stays with the process (measured at 100,000
            # leases: 70 MiB more resident, against 44).
            with self.engine.connect() as connection:
                cursor = connection.connection.driver_connection.cursor()
                try:
                    cursor.execute(self._load_sql)
                    leases = leases_from_loaded(cursor)
                finally:
                    cursor.close()
                self.release_page_cache(connection)
        return leases

    def release_page_cache(self, connection: Connection) -> None:
        """Empty an SQLite connection's page cache after a read of many rows (the whole table, or a walk of it
        for a filter): the pages it holds were read once and would stay, up to 2 MiB per pooled connection."""
        if not self.shared:
            connection.exec_driver_sql("PRAGMA shrink_memory")

    def save(self, leases: Sequence[Lease]) -> None:
        """Insert or replace `leases` by address, all in one transaction; the last of one address wins."""
        if not leases:
            return
        now = time.time()
        # One row per address: PostgreSQL refuses to update a row twice in one statement.
        rows = {int(lease.ip): lease_to_row(lease, now) for lease in leases}
        with self.engine.begin() as connection:
            connection.execute(self._upsert, list(rows.values()))

    def claim(self, leases: Sequence[Lease]) -> set[IPv4Address]:
        """Write `leases` in one transaction where their addresses are free for them; return those that are not.

        An address is lost when its stored row belongs to another client, is in use (offered, active,
        declined, abandoned) and has not expired yet. The last lease of one address in `leases` wins.
        """
        if not leases:
            return set()
        rows = _claim_rows(leases)
        with self.engine.begin() as connection:
            cursor = connection.connection.driver_connection.cursor()
            try:
                lost = self._claim_lost(cursor, self._claim_sql, rows)
            finally:
                cursor.close()
        return {IPv4Address(ip) for ip in lost}

    def claim_unless_locked(self, leases: Sequence[Lease]) -> set[IPv4Address] | None:
        """`claim`, for a caller that must not wait: None, having written nothing, when another connection holds
        the write lock (or on a server database, where every commit is a round trip). SQLite only."""
        if self.shared:
            return None
        if not leases:
            return set()
        cursor = self._unwaiting_cursor()
        if self._checkpoint_to_finish:
            self._checkpoint_to_finish = False
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode in (_SQLITE_BUSY, _SQLITE_LOCKED):
                return None
            self._drop_unwaiting()
            raise
        try:
            lost = _each_lost(cursor, self._claim_sql, _claim_rows(leases))
            cursor.execute("COMMIT")
        except BaseException:
            self._drop_unwaiting()   # closing rolls back; the next call starts on a fresh connection
            raise
        return {IPv4Address(ip) for ip in lost}

    def _unwaiting_cursor(self) -> sqlite3.Cursor:
        """The one cursor of `claim_unless_locked`'s driver connection, kept between calls."""
        if self._unwaiting is None:
            pooled = self.engine.raw_connection()   # with the durability pragmas of every connection
            connection = pooled.driver_connection
            connection.isolation_level = None        # transactions are begun and committed explicitly
            connection.execute("PRAGMA busy_timeout=0")
            # Not after its own commits: copying the log into the database stalled the caller for about 5 ms
            # every hundred one-lease commits (the copy is synced); `checkpoint` does it from another thread.
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._unwaiting = pooled
            self._unwaiting_claims = connection.cursor()
        return self._unwaiting_claims

    def _drop_unwaiting(self) -> None:
        if self._unwaiting is not None:
            self._unwaiting_claims.close()
            self._unwaiting.invalidate()
            self._unwaiting = None

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the SQLite database from the calling thread, without waiting for the
        writer or the readers (passive checkpoints); nothing to do on a server database.

        The log starts over from its beginning only once all of it is in the database, and the loop's writer
        adds pages while this copies, so the last few pages are left to `claim_unless_locked`: its next call
        copies them first, which takes a fraction of a millisecond, and then its transaction restarts the log.
        """
        if self.shared:
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        self._checkpoint_to_finish = True

    def changed_since(self, since: float) -> list[Lease]:
        """Leases written at or after `since` (POSIX seconds), for keeping another server's cache current."""
        statement = select(*LEASE_COLUMNS).where(LEASES.c.updated_at >= since)
        with self.engine.connect() as connection:
            return [lease_from_tuple(row) for row in connection.execute(statement)]

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
        with self.engine.connect() as connection:
            leases = [lease_from_tuple(row) for row in connection.execute(self.page_statement(after_ip, limit, filters))]
            self.release_page_cache(connection)
        return leases

    @staticmethod
    def page_statement(after_ip: IPv4Address | None, limit: int, filters: LeaseFilter):
        """The SELECT behind `page`."""
        conditions = filters.conditions()
        if after_ip is not None:
            conditions.append(LEASES.c.ip > int(after_ip))
        return select(*LEASE_COLUMNS).where(*conditions).order_by(LEASES.c.ip).limit(limit)

    def bulk_insert(self, leases: Iterable[Lease]) -> int:
        """Insert many leases whose addresses are not stored yet (an import), in one transaction, through the
        driver's fast path; returns how many. A stored or repeated address fails it all and writes nothing."""
        return insert_new_leases(self.engine, leases, time.time())

    def close(self) -> None:
        self._drop_unwaiting()
        self.engine.dispose()


def _claim_rows(leases: Sequence[Lease]) -> list[tuple]:
    """The rows of `leases`, the last one of each address, in address order: two servers locking overlapping
    rows always lock them in the same order (no deadlock)."""
    rows = {row[0]: row for row in lease_rows(leases, time.time())}
    return sorted(rows.values())


def _each_lost(cursor: sqlite3.Cursor, sql: str, rows: list[tuple]) -> list[int]:
    """The `ip`s of the `rows` that running `sql` once per row on the driver's `cursor` did not write.

    The rows go through one `executemany` (one prepared statement run per row; a multi-row VALUES statement needs
    a statement journal, and measured slower for each batch size from 1 to 128), whose rowcount is how many were
    written. Only when some were not is each row run again alone, to learn which: a written row is written again
    with the same values (its stored row is now the same client's), and a refused one is refused again (its stored
    row, whose address no other row has, did not change)."""
    cursor.executemany(sql, rows)
    if cursor.rowcount == len(rows):
        return []
    return [row[0] for row in rows if cursor.execute(sql, row).rowcount == 0]


def _pipelined_lost(cursor, sql: str, rows: list[tuple]) -> set[int]:
    """The `ip`s of the `rows` that running `sql` (which returns the `ip`s it writes) once per row with
    psycopg's pipelined executemany on the driver's `cursor` did not write.

    On PostgreSQL this is about 3x faster than SQLAlchemy's multi-row VALUES statement, whose long text
    psycopg parses again on every call (measured: 14 ms against 39 ms per 100 leases).
    """
    cursor.executemany(sql, rows, returning=True)
    written = set()
    while True:
        written.update(row[0] for row in cursor.fetchall())
        if not cursor.nextset():
            return {row[0] for row in rows} - written
