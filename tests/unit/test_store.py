"""Unit tests of the lease store on a temporary SQLite file: round trip, upsert, delete, paging, reservations."""

import ctypes
import sqlite3
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from dhcpd.leases.database import create_db_engine, upgrade_schema
from dhcpd.leases.models import Base, LeaseRow, lease_from_row
from dhcpd.leases.record import Lease, LeaseLink, LeaseState
from dhcpd.leases.reservations import ReservationConflict, ReservationRecord
from dhcpd.leases.store import LeaseFilter, LeaseStore

pytestmark = pytest.mark.unit

BASE_IP = int(IPv4Address("10.0.0.0"))


def full_lease(ip: str = "10.1.2.3") -> Lease:
    return Lease(
        ip=IPv4Address(ip), state=LeaseState.ACTIVE, starts=1_700_000_000.25, expires=1_700_003_600.5,
        mac=bytes.fromhex("020000aabbcc"), client_id=b"\x01\x02\x00\x00\xaa\xbb\xcc", hostname="printer",
        link=LeaseLink(subnet="10.1.2.0/24", interface="vlan105", ifindex=42, vlan=105, inner_vlan=7,
                       relay=IPv4Address("10.1.2.1")), circuit_id=b"eth0:105", remote_id=b"\x00\x11switch",
    )


def numbered_lease(n: int) -> Lease:
    """Lease n of a synthetic population: four interfaces, three states, every tenth without a hostname."""
    return Lease(
        ip=IPv4Address(BASE_IP + n), state=(LeaseState.ACTIVE, LeaseState.EXPIRED, LeaseState.FREE)[n % 3],
        starts=float(n), expires=float(n + 3600), mac=n.to_bytes(6, "big"),
        hostname=None if n % 10 == 0 else f"host{n % 50}", link=LeaseLink(subnet=f"10.0.{n >> 8}.0/24", interface=f"vlan{n % 4}", vlan=n % 4),
    )


def test_every_field_survives_a_round_trip(store):
    lease = full_lease()
    store.save([lease])
    assert store.get(lease.ip) == lease
    assert store.load_all() == [lease]


def test_orm_row_converts_to_the_same_lease(store):
    lease = full_lease()
    store.save([lease])
    with Session(store.engine) as session:
        assert lease_from_row(session.scalars(select(LeaseRow)).one()) == lease


def test_a_lease_with_only_the_required_fields_round_trips(store):
    lease = Lease(IPv4Address("192.168.0.9"), LeaseState.OFFERED, 1.0, 2.0)
    store.save([lease])
    assert store.load_all() == [lease]


def test_save_replaces_the_lease_of_the_same_address(store):
    first = full_lease()
    second = first.copy(state=LeaseState.RELEASED, mac=b"\x02\x00\x00\x00\x00\x01", hostname=None,
                        link=replace(first.link, vlan=None))
    store.save([first])
    store.save([second])
    assert store.load_all() == [second]


def test_the_last_lease_of_an_address_in_one_save_wins(store):
    first = full_lease()
    last = first.copy(hostname="renamed")
    store.save([first, last])
    assert store.load_all() == [last]


def test_delete_removes_only_the_given_addresses(store):
    store.save([numbered_lease(n) for n in range(5)])
    store.delete([IPv4Address(BASE_IP + 1), IPv4Address(BASE_IP + 3), IPv4Address("172.16.0.1")])
    assert [lease.ip for lease in store.load_all()] == [IPv4Address(BASE_IP + n) for n in (0, 2, 4)]


def test_get_of_an_unknown_address_is_none(store):
    assert store.get(IPv4Address("10.9.9.9")) is None


def test_delete_subnet_removes_the_addresses_inside_and_counts_them(store):
    store.save([numbered_lease(n) for n in range(600)])
    assert store.delete_subnet(IPv4Network("10.0.1.0/24")) == 256
    remaining = {lease.ip for lease in store.load_all()}
    assert len(remaining) == 344
    assert not any(ip in IPv4Network("10.0.1.0/24") for ip in remaining)


def test_addresses_are_ordered_numerically(store):
    addresses = [IPv4Address(a) for a in ("10.0.0.10", "200.0.0.1", "10.0.0.9", "9.255.255.255")]
    store.save([Lease(ip, LeaseState.ACTIVE, 0.0, 1.0) for ip in addresses])
    assert [lease.ip for lease in store.page(None, 10)] == sorted(addresses)


def walk(store: LeaseStore, filters: LeaseFilter, limit: int) -> list[Lease]:
    seen: list[Lease] = []
    cursor = None
    while page := store.page(cursor, limit, filters):
        seen.extend(page)
        cursor = page[-1].ip
    return seen


@pytest.mark.parametrize("filters", [
    LeaseFilter(),
    LeaseFilter(interface="vlan2"),
    LeaseFilter(state=LeaseState.EXPIRED, vlan=1),
    LeaseFilter(hostname="host7"),
    LeaseFilter(subnet="10.0.17.0/24", state=LeaseState.FREE),
    LeaseFilter(mac=(4321).to_bytes(6, "big")),
], ids=repr)
def test_paging_over_ten_thousand_leases_has_no_repeats_or_gaps(store, filters):
    population = [numbered_lease(n) for n in range(10_000)]
    store.save(population)
    expected = [lease for lease in population if matches(lease, filters)]
    assert expected
    assert walk(store, filters, limit=333) == expected


def sqlite_memory_used() -> int:
    """Bytes the SQLite library of this process holds (its page caches among them)."""
    try:
        library = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        pytest.skip("no shared SQLite library to ask")
    library.sqlite3_libversion.restype = ctypes.c_char_p
    if library.sqlite3_libversion().decode() != sqlite3.sqlite_version:
        pytest.skip("the sqlite3 module has a SQLite of its own")
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return library.sqlite3_memory_used()


def test_a_walk_of_the_whole_table_for_a_filter_keeps_no_pages_cached(store):
    store.save([numbered_lease(n) for n in range(20_000)])   # its connection's page cache fills: 2 MiB
    assert store.page(None, 100, LeaseFilter(hostname="nobody")) == []
    assert sqlite_memory_used() < 512 * 1024


def matches(lease: Lease, filters: LeaseFilter) -> bool:
    wanted = {name: getattr(filters, name) for name in LeaseFilter.__slots__}
    return all(value is None or getattr(lease, name) == value for name, value in wanted.items())


def test_reservations_add_get_update_delete(store):
    table = store.reservations
    added = table.add(ReservationRecord(ip=IPv4Address("10.0.0.50"), mac=b"\x02\x00\x00\x00\x00\x50",
                                        hostname="cam", options={"routers": "10.0.0.1"}, subnet="10.0.0.0/24"))
    assert added.id is not None and added.created_at > 0
    assert table.get(added.id) == added
    moved = replace(added, ip=IPv4Address("10.0.0.51"), hostname=None, options=None)
    assert table.update(moved)
    assert table.get(added.id) == moved
    assert table.all() == [moved]
    assert table.delete(added.id)
    assert table.get(added.id) is None
    assert not table.delete(added.id)
    assert not table.update(moved)


def test_reservation_identifiers_are_unique_where_given(store):
    table = store.reservations
    table.add(ReservationRecord(ip=IPv4Address("10.0.0.1"), mac=b"\x02\x00\x00\x00\x00\x01"))
    table.add(ReservationRecord(ip=IPv4Address("10.0.0.2"), circuit_id=b"port2"))
    table.add(ReservationRecord(ip=IPv4Address("10.0.0.3"), client_id=b"\x01abc"))
    for duplicate in (
        ReservationRecord(ip=IPv4Address("10.0.0.9"), mac=b"\x02\x00\x00\x00\x00\x01"),
        ReservationRecord(ip=IPv4Address("10.0.0.9"), circuit_id=b"port2"),
        ReservationRecord(ip=IPv4Address("10.0.0.9"), client_id=b"\x01abc"),
        ReservationRecord(ip=IPv4Address("10.0.0.1")),
    ):
        with pytest.raises(ReservationConflict):
            table.add(duplicate)
    assert [record.ip for record in table.all()] == [IPv4Address(f"10.0.0.{n}") for n in (1, 2, 3)]


def test_reservation_pages_follow_the_id(store):
    table = store.reservations
    ids = [table.add(ReservationRecord(ip=IPv4Address(BASE_IP + n))).id for n in range(7)]
    first = table.page(None, 4)
    second = table.page(first[-1].id, 4)
    assert [record.id for record in first + second] == ids


def for_this_dialect(dialect: str):
    """Alembic's comparison knows nothing of `ddl_if`: leave out the indexes made only on another dialect."""
    def include(obj, name, type_, reflected, compare_to) -> bool:
        only_on = getattr(getattr(obj, "_ddl_if", None), "dialect", None)
        return reflected or only_on in (None, dialect)
    return include


def assert_migrations_match_the_models(url: str) -> None:
    upgrade_schema(url)
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "include_object": for_this_dialect(engine.dialect.name)})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_migrations_match_the_models(tmp_path):
    assert_migrations_match_the_models(f"sqlite:///{tmp_path / 'drift.sqlite'}")


@pytest.mark.netns
def test_migrations_match_the_models_on_postgresql(cluster):
    assert_migrations_match_the_models(cluster.create_database("drift"))


@pytest.mark.parametrize(("filters", "plan"), [
    (LeaseFilter(mac=b"\x02\x00\x00\x00\x00\x01"), "USING INDEX ix_leases_mac"),
    (LeaseFilter(client_id=b"\x01abc"), "USING INDEX ix_leases_client_id"),
    (LeaseFilter(subnet="10.0.17.0/24"), "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"),
], ids=["mac", "client_id", "subnet"])
def test_sqlite_filters_by_client_or_subnet_read_only_the_matching_part_of_the_table(store, filters, plan):
    compiled = store.page_statement(None, 100, filters).compile(store.engine)
    values = compiled.construct_params()
    with store.engine.connect() as connection:
        steps = [row[-1] for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", tuple(values[name] for name in compiled.positiontup))]
    assert any(plan in step for step in steps), steps


def test_upgrade_twice_is_harmless(store):
    store.save([full_lease()])
    store.upgrade()
    assert store.load_all() == [full_lease()]


def test_sqlite_is_durable_and_concurrent(store):
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_crash_durability_commits_to_the_operating_system_only(tmp_path):
    crash_level = LeaseStore(f"sqlite:///{tmp_path / 'leases.sqlite'}", durability="crash")
    try:
        with crash_level.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        crash_level.close()


def test_an_unknown_durability_is_refused(tmp_path):
    with pytest.raises(ValueError, match="durability must be one of"):
        LeaseStore(f"sqlite:///{tmp_path / 'leases.sqlite'}", durability="maybe")


def test_the_folder_of_a_new_database_is_created(tmp_path):
    path = tmp_path / "var" / "lib" / "pydhcpd" / "leases.sqlite"
    upgrade_schema(f"sqlite:///{path}")
    assert path.is_file()


def test_none_and_bytes_are_bound_as_they_are():
    connection = sqlite3.connect(":memory:")
    value = b"\x00\x01client"
    row = connection.execute("SELECT ?, ?, typeof(?), typeof(?)", (None, value, None, value)).fetchone()
    assert row == (None, value, "null", "blob")
