"""The claim rule of the lease store, on SQLite and on a throwaway PostgreSQL: an address is written only when
it is free for that client, and every lost address is reported; `changed_since` finds what others wrote."""

from __future__ import annotations

import itertools
import os
import time
from ipaddress import IPv4Address

import pytest

from dhcpd.leases.record import Lease, LeaseState
from dhcpd.leases.store import LeaseStore
from tests.harness.postgres import throwaway_cluster

ADDRESS = IPv4Address("10.5.0.7")
MAC_A, MAC_B = bytes.fromhex("020000000a0a"), bytes.fromhex("020000000b0b")
DATABASE_NUMBERS = itertools.count()


@pytest.fixture(scope="module")
def cluster():
    """One PostgreSQL for the module (initdb takes seconds); each test gets its own database in it."""
    if os.geteuid() != 0:
        pytest.fail("the PostgreSQL variant needs root (it runs initdb as the postgres user): use scripts/test")
    with throwaway_cluster() as running:
        yield running


@pytest.fixture(params=[
    pytest.param("sqlite", marks=pytest.mark.unit),
    pytest.param("postgresql", marks=pytest.mark.netns),
])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leases.sqlite'}"
    else:
        url = request.getfixturevalue("cluster").create_database(f"claims{next(DATABASE_NUMBERS)}")
    lease_store = LeaseStore(url)
    lease_store.upgrade()
    try:
        yield lease_store
    finally:
        lease_store.close()


def held(mac: bytes, state: LeaseState = LeaseState.ACTIVE, expires_in: float = 3600.0, client_id: bytes | None = None,
         ip: IPv4Address = ADDRESS) -> Lease:
    now = time.time()
    return Lease(ip, state, now, now + expires_in, mac=mac, client_id=client_id)


def test_an_absent_address_is_taken(store):
    assert store.claim([held(MAC_A)]) == set()
    assert store.get(ADDRESS).mac == MAC_A


def test_another_clients_active_lease_is_kept_and_reported_lost(store):
    store.claim([held(MAC_A)])
    assert store.claim([held(MAC_B)]) == {ADDRESS}
    assert store.get(ADDRESS).mac == MAC_A


def test_the_same_client_renews_by_mac_or_by_client_id(store):
    store.claim([held(MAC_A, client_id=b"\x01one")])
    assert store.claim([held(MAC_B, client_id=b"\x01one", expires_in=7200)]) == set()
    assert store.get(ADDRESS).mac == MAC_B
    store.claim([held(MAC_A, ip=IPv4Address("10.5.0.8"))])
    assert store.claim([held(MAC_A, ip=IPv4Address("10.5.0.8"), state=LeaseState.RELEASED)]) == set()


def test_a_client_id_does_not_match_a_different_client_id_with_the_same_mac(store):
    store.claim([held(MAC_A, client_id=b"\x01one")])
    assert store.claim([held(MAC_A, client_id=b"\x01two")]) == {ADDRESS}


@pytest.mark.parametrize("state", [LeaseState.FREE, LeaseState.BACKUP, LeaseState.RELEASED, LeaseState.EXPIRED])
def test_a_reusable_row_goes_to_a_new_client(store, state):
    store.claim([held(MAC_A, state=state)])
    assert store.claim([held(MAC_B)]) == set()
    assert store.get(ADDRESS).mac == MAC_B


@pytest.mark.parametrize("state", [LeaseState.ACTIVE, LeaseState.DECLINED, LeaseState.ABANDONED])
def test_a_row_in_use_that_has_run_out_goes_to_a_new_client(store, state):
    store.claim([held(MAC_A, state=state, expires_in=-1.0)])
    assert store.claim([held(MAC_B)]) == set()


def test_a_declined_address_stays_out_of_use_until_it_expires(store):
    store.claim([held(MAC_A, state=LeaseState.DECLINED)])
    assert store.claim([held(MAC_B)]) == {ADDRESS}


def test_one_batch_reports_only_the_addresses_it_lost(store):
    others = [held(MAC_A, ip=IPv4Address(f"10.5.1.{n}")) for n in range(0, 10, 2)]
    store.claim(others)
    batch = [held(MAC_B, ip=IPv4Address(f"10.5.1.{n}")) for n in range(10)]
    assert store.claim(batch) == {lease.ip for lease in others}
    assert {lease.ip for lease in store.load_all() if lease.mac == MAC_B} == {IPv4Address(f"10.5.1.{n}") for n in range(1, 10, 2)}


def test_an_expiry_written_late_does_not_overwrite_the_next_clients_lease(store):
    first = held(MAC_A, expires_in=-1.0)
    store.claim([first])
    store.claim([held(MAC_B)])
    assert store.claim([first.copy(state=LeaseState.EXPIRED)]) == {ADDRESS}
    assert store.get(ADDRESS).mac == MAC_B


def test_changed_since_returns_only_rows_written_after_the_moment(store):
    store.claim([held(MAC_A, ip=IPv4Address("10.5.2.1"))])
    moment = time.time()
    store.claim([held(MAC_B, ip=IPv4Address("10.5.2.2"))])
    assert [lease.ip for lease in store.changed_since(moment)] == [IPv4Address("10.5.2.2")]
