"""SQLAlchemy 2 table models of the lease database, and conversion between a `leases` row and `Lease`.

Storage choices (they hold for SQLite and PostgreSQL alike):
- Addresses are unsigned 32-bit integers, so ORDER BY is numeric (10.0.0.9 before 10.0.0.10) and a cursor
  "ip > last" walks the primary key index. PostgreSQL stores them as BIGINT (INTEGER is signed and would
  wrap above 127.255.255.255); SQLite as INTEGER, which makes `ip` the rowid: the table itself is the index.
- Times (starts, expires, updated_at, created_at) are UTC POSIX seconds in a double, the same float the
  `Lease` record carries: no time zone can be lost, comparisons with "now" are plain numbers, and loading a
  million rows needs no datetime objects.
- MAC, client id and option 82 values are raw bytes, as they arrive on the wire. The state is its string
  value (no database ENUM type, so a new state needs no type migration).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, Double, Index, Integer, LargeBinary, MetaData, SmallInteger, String, Text, and_, case, cast, func,
    null,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dhcpd.leases.record import NOWHERE, Lease, LeaseLink, LeaseState, shared_link
from dhcpd.wire.addresses import text_value

# BIGINT on PostgreSQL; plain INTEGER on SQLite so that the primary key is the rowid.
IPV4_INT = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    # Named constraints, so that later migrations can address them (SQLite batch mode needs the names).
    metadata = MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    })


class LeaseRow(Base):
    __tablename__ = "leases"

    # The primary key is what keeps one address from being held by two clients, also across servers.
    ip: Mapped[int] = mapped_column(IPV4_INT, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16))
    starts: Mapped[float] = mapped_column(Double)
    expires: Mapped[float] = mapped_column(Double)
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(16), index=True)
    client_id: Mapped[bytes | None] = mapped_column(LargeBinary(255), index=True)
    hostname: Mapped[str | None] = mapped_column(String(255))
    subnet: Mapped[str | None] = mapped_column(String(18))
    interface: Mapped[str | None] = mapped_column(String(64))
    ifindex: Mapped[int | None] = mapped_column(Integer)
    vlan: Mapped[int | None] = mapped_column(SmallInteger)
    inner_vlan: Mapped[int | None] = mapped_column(SmallInteger)
    relay: Mapped[str | None] = mapped_column(String(15))
    circuit_id: Mapped[bytes | None] = mapped_column(LargeBinary(255))
    remote_id: Mapped[bytes | None] = mapped_column(LargeBinary(255))
    updated_at: Mapped[float] = mapped_column(Double)   # changed rows, for other servers

    # Every index is written with the lease, before its ACK leaves. SQLite (one server, which keeps all its
    # leases in memory) indexes only the client identity; a shared PostgreSQL also serves the API's other
    # filters and the other servers' "what changed since" (migration 0003 says what was measured).
    __table_args__ = tuple(Index(f"ix_leases_{column}", column).ddl_if(dialect="postgresql")
                           for column in ("state", "expires", "hostname", "subnet", "interface", "updated_at"))


class ReservationRow(Base):
    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # UNIQUE admits any number of NULLs on both databases: each identifier is unique only where given.
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(16), unique=True)
    client_id: Mapped[bytes | None] = mapped_column(LargeBinary(255), unique=True)
    circuit_id: Mapped[bytes | None] = mapped_column(LargeBinary(255), unique=True)
    ip: Mapped[int] = mapped_column(IPV4_INT, unique=True)
    hostname: Mapped[str | None] = mapped_column(String(255))
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    subnet: Mapped[str | None] = mapped_column(String(18), index=True)
    created_at: Mapped[float] = mapped_column(Double)


LEASES = LeaseRow.__table__
RESERVATIONS = ReservationRow.__table__

# Column order of a lease tuple, shared by `lease_to_row` and `lease_from_tuple` (fast Core loading).
LEASE_COLUMNS = (
    LEASES.c.ip, LEASES.c.state, LEASES.c.starts, LEASES.c.expires, LEASES.c.mac, LEASES.c.client_id,
    LEASES.c.hostname, LEASES.c.subnet, LEASES.c.interface, LEASES.c.ifindex, LEASES.c.vlan,
    LEASES.c.inner_vlan, LEASES.c.relay, LEASES.c.circuit_id, LEASES.c.remote_id,
)

_STATE_BY_VALUE = {state.value: state for state in LeaseState}


def lease_to_row(lease: Lease, updated_at: float) -> dict[str, Any]:
    """Column values of `lease` for an INSERT or UPDATE of the `leases` table."""
    return {
        "ip": lease.address,
        "state": lease.state.value,
        "starts": lease.starts,
        "expires": lease.expires,
        "mac": lease.mac,
        "client_id": lease.client_id,
        "hostname": lease.hostname,
        "subnet": lease.subnet,
        "interface": lease.interface,
        "ifindex": lease.ifindex,
        "vlan": lease.vlan,
        "inner_vlan": lease.inner_vlan,
        "relay": None if lease.relay is None else str(lease.relay),
        "circuit_id": lease.circuit_id,
        "remote_id": lease.remote_id,
        "updated_at": updated_at,
    }


# The columns of the link a lease came through. Loading every lease reads them as one value, a JSON array,
# NULL when all are NULL (imported leases): the driver spends about 60 ns on each column of each row, NULL or
# not, and each link is made into a `Lease`'s values once, not once a row.
LINK_COLUMNS = (LEASES.c.subnet, LEASES.c.interface, LEASES.c.ifindex, LEASES.c.vlan, LEASES.c.inner_vlan,
                LEASES.c.relay)


def loaded_lease_columns(dialect: str) -> tuple:
    """The columns that `leases_from_loaded` takes, on database `dialect` (sqlite or postgresql)."""
    as_json = (func.json_array(*LINK_COLUMNS) if dialect == "sqlite"
               else cast(func.json_build_array(*LINK_COLUMNS), Text))
    link = case((and_(*(column.is_(None) for column in LINK_COLUMNS)), null()), else_=as_json)
    return (LEASES.c.ip, LEASES.c.state, LEASES.c.starts, LEASES.c.expires, LEASES.c.mac, LEASES.c.client_id,
            LEASES.c.hostname, LEASES.c.circuit_id, LEASES.c.remote_id, link)


def lease_from_tuple(values: tuple) -> Lease:
    """The `Lease` of a row selected with `LEASE_COLUMNS`, in that order."""
    (ip, state, starts, expires, mac, client_id, hostname, subnet, interface, ifindex, vlan, inner_vlan,
     relay, circuit_id, remote_id) = values
    return Lease(ip, _STATE_BY_VALUE[state], starts, expires, mac, client_id, hostname,
                 _shared_link(subnet, interface, ifindex, vlan, inner_vlan, relay), circuit_id, remote_id)


# Links that `leases_from_loaded` keeps at a time, by JSON array: in address order the leases of one link mostly
# come one after the other, and keeping every link while the leases load left 1 MiB more resident (4,000 links).
_LOADED_LINKS = 64


def leases_from_loaded(rows: Iterable[tuple]) -> list[Lease]:
    """The `Lease`s of rows selected with `loaded_lease_columns`, in that order."""
    links: dict[str | None, LeaseLink] = {None: NOWHERE}

    def lease_of(values: tuple) -> Lease:
        ip, state, starts, expires, mac, client_id, hostname, circuit_id, remote_id, link = values
        shared = links.get(link)
        if shared is None:
            if len(links) > _LOADED_LINKS:
                links.clear()
                links[None] = NOWHERE
            shared = links[link] = _shared_link(*json.loads(link))
        return Lease(ip, _STATE_BY_VALUE[state], starts, expires, mac, client_id, hostname, shared,
                     circuit_id, remote_id)

    return list(map(lease_of, rows))


def _shared_link(subnet: str | None, interface: str | None, ifindex: int | None, vlan: int | None,
                 inner_vlan: int | None, relay: str | None) -> LeaseLink:
    """The link columns' values (the relay as stored, in text) as the `LeaseLink` shared by the leases seen there."""
    return shared_link(subnet, interface, ifindex, vlan, inner_vlan, None if relay is None else text_value(relay))


def lease_from_row(row: LeaseRow) -> Lease:
    """The `Lease` of an ORM row."""
    return lease_from_tuple(tuple(getattr(row, column.key) for column in LEASE_COLUMNS))
