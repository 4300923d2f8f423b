"""Unit tests of the lease index: its client tables (`client_leases` against its definition, after any mix of
puts, replacements and removals, whatever client ids the leases carry), its expiry, and its construction from
many leases at once against putting them one by one."""

import random
from ipaddress import IPv4Address

import pytest

from dhcpd.config.model import AddressRange, Pool
from dhcpd.engine.lease_index import LeaseIndex
from dhcpd.leases.record import Lease, LeaseState

pytestmark = pytest.mark.unit

MACS = [bytes([2, 0, 0, 0, 0, n]) for n in range(4)]
# no id, the hardware type 1 id of one of the MACs, a DUID, an id of another hardware type
CLIENT_IDS = [None, *(b"\x01" + mac for mac in MACS), b"\xff\x00\x01", b"\x06" + MACS[0], b"\x01"]


def defined_client_leases(leases: list[Lease], client_id: bytes | None, mac: bytes | None) -> list[Lease]:
    """By client identifier when the client sent one, else by MAC on leases without one."""
    if client_id is not None:
        found = [lease for lease in leases if lease.client_id == client_id]
        if found:
            return found
    return [lease for lease in leases if mac is not None and lease.mac == mac
            and (client_id is None or lease.client_id is None)]


@pytest.mark.parametrize("seed", range(20))
def test_client_leases_follow_their_definition_through_any_changes(seed):
    chance = random.Random(seed)
    index = LeaseIndex([])
    for _ in range(200):
        ip = IPv4Address(0x0A000000 + chance.randrange(12))
        if chance.random() < 0.2:
            index.remove(ip)
        else:
            index.put(Lease(ip, LeaseState.ACTIVE, 0.0, 1.0, mac=chance.choice([None, *MACS]),
                            client_id=chance.choice(CLIENT_IDS)))
        leases = list(index)
        for client_id in CLIENT_IDS:
            for mac in [None, *MACS]:
                found = index.client_leases(client_id, mac)
                assert sorted(found, key=lambda lease: lease.ip) == sorted(
                    defined_client_leases(leases, client_id, mac), key=lambda lease: lease.ip)


def active(n: int, expires: float) -> Lease:
    return Lease(IPv4Address(0x0A000000 + n), LeaseState.ACTIVE, 0.0, expires, mac=MACS[n % len(MACS)])


def expired_addresses(index: LeaseIndex, now: float, limit: int | None = None) -> list[int]:
    return sorted(int(lease.ip) - 0x0A000000 for lease in index.reclaim(now, limit))


def test_a_lease_is_reclaimed_once_its_end_is_passed_and_not_before():
    index = LeaseIndex([], [active(1, 1_700_000_100.4), active(2, 1_700_000_100.0)])
    assert expired_addresses(index, 1_700_000_099.9) == []
    assert expired_addresses(index, 1_700_000_100.0) == [2]
    assert index.next_expiry() == 1_700_000_101
    assert expired_addresses(index, 1_700_000_101.0) == [1]
    assert index.next_expiry() is None


def test_end_times_far_from_now_sort_the_same():
    ends = [-5.0, 1000.0, 1_700_000_000.0, 1_900_000_000.0, 4_000_000_000.0, 2.0**40]
    index = LeaseIndex([], [active(n, end) for n, end in enumerate(reversed(ends))])
    assert [expired_addresses(index, end) for end in ends] == [[5], [4], [3], [2], [1], [0]]


def test_a_lease_that_never_ends_is_never_reclaimed():
    index = LeaseIndex([], [active(1, float("inf"))])
    assert index.next_expiry() is None and index.reclaim(2.0**60) == []
    assert index.get(IPv4Address("10.0.0.1")).state is LeaseState.ACTIVE


def test_a_renewed_lease_ends_at_its_new_time_only():
    index = LeaseIndex([], [active(1, 1000.0)])
    index.put(active(1, 2000.5))
    assert expired_addresses(index, 1500.0) == []
    assert expired_addresses(index, 2001.0) == [1]
    index.put(active(1, float("inf")))
    assert expired_addresses(index, 3000.0) == []


def test_a_mass_expiry_is_reclaimed_in_bounded_steps():
    index = LeaseIndex([], [active(n, 1000.0 + n % 3) for n in range(10)])
    assert [len(index.reclaim(2000.0, limit=4)) for _ in range(4)] == [4, 4, 2, 0]


def address(offset: int) -> IPv4Address:
    return IPv4Address(0x0A000000 + offset)


def pools_of(*spans: tuple[int, int]) -> Pool:
    return Pool(ranges=[AddressRange(address(first), address(last)) for first, last in spans])


# A pool of two ranges, one that overlaps another pool's range, two ranges that start at the same address;
# addresses 50 to 59 are in no pool.
POOLS = [pools_of((2, 9), (20, 29)), pools_of((10, 19)), pools_of((25, 34)), pools_of((40, 44)), pools_of((40, 49))]


def one_by_one(leases: list[Lease]) -> LeaseIndex:
    """The index that putting each lease in order of end time builds."""
    index = LeaseIndex(POOLS)
    for lease in sorted(leases, key=lambda lease: lease.expires):
        index.put(lease)
    return index


def tables(index: LeaseIndex) -> tuple:
    """Everything the index holds, in the order it holds it (a set's included)."""
    def client_table(table: dict) -> dict:
        return {key: list(linked) if isinstance(linked, set) else linked for key, linked in table.items()}
    return ([(value, id(lease)) for value, lease in index._by_ip.items()], client_table(index._by_client_id),
            client_table(index._by_mac), sorted(index._expiries), [list(state.freed) for state in index.pools])


@pytest.mark.parametrize("seed", range(40))
def test_an_index_built_on_many_leases_is_the_one_their_puts_build(seed):
    chance = random.Random(seed)
    offsets = [chance.randrange(60) for _ in range(40)] if seed % 4 == 0 else chance.sample(range(60), 40)
    leases = [Lease(address(offset), chance.choice(list(LeaseState)), 0.0,
                    chance.choice([1000.0, 1000.5, 2000.0, float("inf")]),
                    mac=chance.choice([None, *MACS]), client_id=chance.choice(CLIENT_IDS)) for offset in offsets]
    if seed % 2:   # as loaded from the database
        leases.sort(key=lambda lease: lease.ip)
    assert tables(LeaseIndex(POOLS, leases)) == tables(one_by_one(leases))


def test_a_replaced_lease_of_the_same_client_keeps_one_copy_of_its_address_and_identity():
    def decoded(lease: Lease) -> Lease:   # equal values in new objects, as a request decodes them
        return lease.copy(ip=int(str(lease.address)), mac=bytes(bytearray(lease.mac)),
                          client_id=bytes(bytearray(lease.client_id)))
    offered = Lease(address(3), LeaseState.OFFERED, 0.0, 10.0, mac=MACS[0], client_id=b"\xff" + MACS[0])
    index = LeaseIndex([], [offered])
    acked = decoded(offered).copy(state=LeaseState.ACTIVE, expires=600.0)
    index.put(acked)
    assert index.get(address(3)) is acked and acked.address is offered.address
    assert acked.mac is offered.mac and acked.client_id is offered.client_id
    [key] = index._by_ip
    assert key is acked.address
    moved = decoded(acked).copy(mac=MACS[1], client_id=None)   # another client: its own identity
    index.put(moved)
    assert moved.address is offered.address and moved.mac == MACS[1] and index.client_leases(None, MACS[1]) == [moved]
