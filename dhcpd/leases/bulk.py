"""Bulk insertion of many new leases at once, for importing a large lease file into the lease database.

SQLAlchemy's executemany spends most of a large insert preparing parameters (about 26 µs per lease
measured), so rows go to the driver here as plain tuples: sqlite3's `executemany`, PostgreSQL's `COPY`
through psycopg. Into an empty table, the secondary indexes are dropped first and built again at the end:
building an index once from the whole table is far cheaper than updating every index a million times in
random key order. Everything, indexes included, happens in one transaction (both databases have
transactional DDL), so a failure leaves the table exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from dhcpd.leases.database import SQLITE_CACHE_KIB, SQLITE_IMPORT_CACHE_KIB
from dhcpd.leases.models import LEASE_COLUMNS, LEASES
from dhcpd.leases.record import Lease
from dhcpd.wire.addresses import address_text, address_value

COLUMN_NAMES = [column.name for column in LEASE_COLUMNS] + [LEASES.c.updated_at.name]


def lease_rows(leases: Iterable[Lease], updated_at: float) -> Iterator[tuple]:
    """Rows of the `leases` table in `COLUMN_NAMES` order (addresses as integer and text through the shared
    caches of `dhcpd.wire.addresses`: int() and str() of an IPv4Address run Python methods; a state's text read
    from the member's `_value_`, since its `value` property runs Python code, about 1,800 instructions)."""
    for lease in leases:
        link = lease.link
        relay = link.relay
        yield (lease.address, lease.state._value_, lease.starts, lease.expires, lease.mac, lease.client_id,
               lease.hostname, link.subnet, link.interface, link.ifindex, link.vlan, link.inner_vlan,
               None if relay is None else address_text(address_value(relay)), lease.circuit_id, lease.remote_id,
               updated_at)


def insert_new_leases(engine: Engine, leases: Iterable[Lease], updated_at: float) -> int:
    """Insert `leases`, whose addresses must not be stored yet, in one transaction; returns how many.

    An address that is already stored, or given twice, fails the whole call with SQLAlchemy's IntegrityError
    and writes nothing.
    """
    rows = lease_rows(leases, updated_at)
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        if sqlite:  # building the indexes of a million rows wants them in memory, on this connection only
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KIB}")
        try:
            return _insert_new(connection, rows, sqlite)
        finally:
            if sqlite:
                connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


def _insert_new(connection: Connection, rows: Iterator[tuple], sqlite: bool) -> int:
    if sqlite and not connection.connection.driver_connection.in_transaction:
        # pysqlite opens a transaction only before DML; the index DDL must be inside it too
        connection.exec_driver_sql("BEGIN")
    empty = connection.execute(select(LEASES.c.ip).limit(1)).first() is None
    if empty:
        for index in LEASES.indexes:
            index.drop(connection)
    insert = _insert_rows if sqlite else _copy_rows
    try:
        count = insert(connection, rows)
    except connection.dialect.dbapi.IntegrityError as error:
        raise IntegrityError(f"bulk insert into {LEASES.name}", None, error) from error
    if empty:
        for index in LEASES.indexes:
            index.create(connection)
    return count


def _insert_rows(connection: Connection, rows: Iterator[tuple]) -> int:
    placeholders = ", ".join("?" * len(COLUMN_NAMES))
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(f"INSERT INTO {LEASES.name} ({', '.join(COLUMN_NAMES)}) VALUES ({placeholders})", rows)
        return cursor.rowcount
    finally:
        cursor.close()


def _copy_rows(connection: Connection, rows: Iterator[tuple]) -> int:
    count = 0
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {LEASES.name} ({', '.join(COLUMN_NAMES)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    finally:
        cursor.close()
    return count
