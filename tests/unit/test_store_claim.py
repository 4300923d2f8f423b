"""The claim rule of the lease any_store, on SQLite and on a throwaway PostgreSQL: an address is written only when
it is free for that client, and every lost address is reported; `changed_since` finds what others wrote."""

from __future__ import annotations

import time
from ipaddress import IPv4Address

import pytest

from dhcpd.leases.record import Lease, LeaseLink, LeaseState

ADDRESS = IPv4Address("10.5.0.7")
MAC_A, MAC_B = bytes.fromhex("020000000a0a"), bytes.fromhex("020000000b0b")


def held(mac: bytes, state: LeaseState = LeaseState.ACTIVE, expires_in: float = 3600.0, client_id: bytes | None = None,
         ip: IPv4Address = ADDRESS) -> Lease:
    now = time.time()
    return Lease(ip, state, now, now + expires_in, mac=mac, client_id=client_id)


def test_an_absent_address_is_taken(any_store):
    assert any_store.claim([held(MAC_A)]) == set()
    assert any_store.get(ADDRESS).mac == MAC_A


def test_another_clients_active_lease_is_kept_and_reported_lost(any_store):
    any_store.claim([held(MAC_A)])
    assert any_store.claim([held(MAC_B)]) == {ADDRESS}
    assert any_store.get(ADDRESS).mac == MAC_A


def test_the_same_client_renews_by_mac_or_by_client_id(any_store):
    any_store.claim([held(MAC_A, client_id=b"\x01one")])
    assert any_store.claim([held(MAC_B, client_id=b"\x01one", expires_in=7200)]) == set()
    assert any_store.get(ADDRESS).mac == MAC_B
    any_store.claim([held(MAC_A, ip=IPv4Address("10.5.0.8"))])
    assert any_store.claim([held(MAC_A, ip=IPv4Address("10.5.0.8"), state=LeaseState.RELEASED)]) == set()


def test_a_client_id_does_not_match_a_different_client_id_with_the_same_mac(any_store):
    any_store.claim([held(MAC_A, client_id=b"\x01one")])
    assert any_store.claim([held(MAC_A, client_id=b"\x01two")]) == {ADDRESS}


@pytest.mark.parametrize("state", [LeaseState.FREE, LeaseState.BACKUP, LeaseState.RELEASED, LeaseState.EXPIRED])
def test_a_reusable_row_goes_to_a_new_client(any_store, state):
    any_store.claim([held(MAC_A, state=state)])
    assert any_store.claim([held(MAC_B)]) == set()
    assert any_store.get(ADDRESS).mac == MAC_B


@pytest.mark.parametrize("state", [LeaseState.ACTIVE, LeaseState.DECLINED, LeaseState.ABANDONED])
def test_a_row_in_use_that_has_run_out_goes_to_a_new_client(any_store, state):
    any_store.claim([held(MAC_A, state=state, expires_in=-1.0)])
    assert any_store.claim([held(MAC_B)]) == set()


def test_a_declined_address_stays_out_of_use_until_it_expires(any_store):
    any_store.claim([held(MAC_A, state=LeaseState.DECLINED)])
    assert any_store.claim([held(MAC_B)]) == {ADDRESS}


def test_one_batch_reports_only_the_addresses_it_lost(any_store):
    others = [held(MAC_A, ip=IPv4Address(f"10.5.1.{n}")) for n in range(0, 10, 2)]
    any_store.claim(others)
    batch = [held(MAC_B, ip=IPv4Address(f"10.5.1.{n}")) for n in range(10)]
    assert any_store.claim(batch) == {lease.ip for lease in others}
    assert {lease.ip for lease in any_store.load_all() if lease.mac == MAC_B} == {IPv4Address(f"10.5.1.{n}") for n in range(1, 10, 2)}


def test_an_expiry_written_late_does_not_overwrite_the_next_clients_lease(any_store):
    first = held(MAC_A, expires_in=-1.0)
    any_store.claim([first])
    any_store.claim([held(MAC_B)])
    assert any_store.claim([first.copy(state=LeaseState.EXPIRED)]) == {ADDRESS}
    assert any_store.get(ADDRESS).mac == MAC_B


def test_changed_since_returns_only_rows_written_after_the_moment(any_store):
    any_store.claim([held(MAC_A, ip=IPv4Address("10.5.2.1"))])
    moment = time.time()
    any_store.claim([held(MAC_B, ip=IPv4Address("10.5.2.2"))])
    assert [lease.ip for lease in any_store.changed_since(moment)] == [IPv4Address("10.5.2.2")]


def test_a_claimed_lease_reads_back_with_every_field(any_store):
    now = time.time()
    lease = Lease(ADDRESS, LeaseState.ACTIVE, now, now + 600.0, mac=MAC_A, client_id=b"\x01one", hostname="printer",
                  link=LeaseLink(subnet="10.5.0.0/24", interface="vlan7", ifindex=9, vlan=7, inner_vlan=70,
                                 relay=IPv4Address("10.5.0.1")), circuit_id=b"port 3", remote_id=b"switch 1")
    assert any_store.claim([lease]) == set()
    assert any_store.get(ADDRESS) == lease


def test_the_last_lease_of_one_address_in_a_batch_wins_beside_new_renewed_and_lost_ones(any_store):
    renewed, lost = IPv4Address("10.5.3.1"), IPv4Address("10.5.3.2")
    any_store.claim([held(MAC_A, ip=renewed), held(MAC_A, ip=lost)])
    batch = [held(MAC_B, ip=IPv4Address("10.5.3.9")), held(MAC_A, ip=renewed, expires_in=60.0), held(MAC_B, ip=lost),
             held(MAC_B, ip=IPv4Address("10.5.3.9"), state=LeaseState.RELEASED)]
    assert any_store.claim(batch) == {lost}
    stored = {lease.ip: lease for lease in any_store.load_all()}
    assert stored[IPv4Address("10.5.3.9")].state is LeaseState.RELEASED
    assert stored[renewed].expires == batch[1].expires
    assert stored[lost].mac == MAC_A


@pytest.mark.unit
def test_the_event_loops_claim_reports_what_a_batch_lost_and_writes_the_rest(store):
    others = [held(MAC_A, ip=IPv4Address(f"10.5.4.{n}")) for n in range(0, 6, 2)]
    store.claim_unless_locked(others)
    batch = [held(MAC_B, ip=IPv4Address(f"10.5.4.{n}")) for n in range(6)]
    assert store.claim_unless_locked(batch) == {lease.ip for lease in others}
    stored = {lease.ip: lease for lease in store.load_all()}
    assert {ip for ip, lease in stored.items() if lease.mac == MAC_B} == {IPv4Address(f"10.5.4.{n}") for n in (1, 3, 5)}
    assert all(stored[lease.ip].expires == lease.expires for lease in batch[1::2])
