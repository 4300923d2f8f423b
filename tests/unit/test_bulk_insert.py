"""`LeaseStore.bulk_insert`, on SQLite and on a throwaway PostgreSQL: every field round trips, the indexes are
there afterwards, and a stored or repeated address fails the whole insert without writing anything."""

from __future__ import annotations

import math
from ipaddress import IPv4Address

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from dhcpd.leases.record import Lease, LeaseLink, LeaseState
from dhcpd.leases.store import LeaseStore

BASE_IP = int(IPv4Address("10.0.0.0"))


def full_lease(n: int) -> Lease:
    return Lease(
        ip=IPv4Address(BASE_IP + n), state=LeaseState.ACTIVE, starts=1_700_000_000.25, expires=math.inf,
        mac=n.to_bytes(6, "big"), client_id=b"\x01\x00;\\'\"\t" + n.to_bytes(4, "big"), hostname=f"h\u00e9st-{n}",
        link=LeaseLink(subnet="10.0.0.0/16", interface="vlan105", ifindex=42, vlan=105, inner_vlan=7,
                       relay=IPv4Address("10.0.0.1")), circuit_id=b"eth0:105\x00", remote_id=b"\x00\x11switch",
    )


def bare_lease(n: int, state: LeaseState = LeaseState.FREE) -> Lease:
    return Lease(IPv4Address(BASE_IP + n), state, 0.0, 0.0)


def index_names(any_store: LeaseStore) -> set[str]:
    return {index["name"] for index in inspect(any_store.engine).get_indexes("leases")}


def test_every_field_round_trips_into_an_empty_table(any_store):
    indexes_before = index_names(any_store)
    leases = [full_lease(n) for n in range(3)] + [bare_lease(n) for n in range(3, 6)]
    assert any_store.bulk_insert(iter(leases)) == len(leases)
    assert any_store.load_all() == leases
    assert index_names(any_store) == indexes_before


def test_inserts_beside_stored_leases_and_keeps_the_indexes(any_store):
    any_store.save([bare_lease(0, LeaseState.ACTIVE)])
    indexes_before = index_names(any_store)
    assert any_store.bulk_insert([full_lease(1), bare_lease(2)]) == 2
    assert any_store.load_all() == [bare_lease(0, LeaseState.ACTIVE), full_lease(1), bare_lease(2)]
    assert index_names(any_store) == indexes_before


@pytest.mark.parametrize("stored", [[], [bare_lease(1, LeaseState.ACTIVE)]])
def test_a_stored_or_repeated_address_fails_it_all_and_writes_nothing(any_store, stored):
    any_store.save(stored)
    indexes_before = index_names(any_store)
    with pytest.raises(IntegrityError):
        any_store.bulk_insert([full_lease(0), full_lease(1), bare_lease(1)])
    assert any_store.load_all() == stored
    assert index_names(any_store) == indexes_before


def test_nothing_to_insert_is_zero(any_store):
    assert any_store.bulk_insert([]) == 0
    assert any_store.load_all() == []
