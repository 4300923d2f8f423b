"""Unit tests of the lease index's client tables: `client_leases` against its definition, after any mix of
puts, replacements and removals, whatever client ids the leases carry."""

import random
from ipaddress import IPv4Address

import pytest

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
