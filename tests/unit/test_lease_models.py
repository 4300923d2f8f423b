"""Unit tests of `lease_from_tuple` and `leases_from_loaded`: the values many leases carry are one object each,
whatever the row, and a link read as one JSON value is the link stored."""

import pickle
from ipaddress import IPv4Address

import pytest

from dhcpd.leases import models, record
from dhcpd.leases.models import lease_from_tuple, leases_from_loaded
from dhcpd.leases.record import Lease, LeaseLink, LeaseState

pytestmark = pytest.mark.unit


def fresh(value):
    """An equal but distinct object, as the database driver makes one per row."""
    return pickle.loads(pickle.dumps(value))


def row(ip: int, ifindex: int | None = 1042, vlan: int | None = 142, relay: str | None = "10.9.0.1") -> tuple:
    return (ip, "active", 1.0, 2.0, None, None, None, "10.9.0.0/24", "vl42", fresh(ifindex), fresh(vlan),
            fresh(4000), fresh(relay), None, None)


def loaded_row(ip: int, link: str | None = '["10.9.0.0/24","vl42",1042,142,4000,"10.9.0.1"]') -> tuple:
    return (ip, "active", 1.0, 2.0, None, None, None, None, None, fresh(link))


def test_leases_of_one_link_share_one_lease_link():
    first, second = lease_from_tuple(row(1)), lease_from_tuple(row(2))
    assert (first.ifindex, first.vlan, first.inner_vlan, first.relay) == (1042, 142, 4000, IPv4Address("10.9.0.1"))
    assert first.link is second.link


def test_missing_values_stay_missing():
    lease = lease_from_tuple(row(3, ifindex=None, vlan=None, relay=None))
    assert (lease.ifindex, lease.vlan, lease.relay) == (None, None, None)


def test_the_shared_values_are_bounded(monkeypatch):
    monkeypatch.setattr(record, "SHARED_LINKS_LIMIT", 4)
    for n in range(20):
        assert lease_from_tuple(row(n, ifindex=n, relay=f"10.9.1.{n}")).relay == IPv4Address(f"10.9.1.{n}")
    assert len(record._shared_links) <= 4


def test_loaded_leases_of_one_link_share_its_values_with_any_row_of_it():
    first, second = leases_from_loaded([loaded_row(1), loaded_row(2)])
    selected = lease_from_tuple(row(3))
    assert first == lease_from_tuple(row(1))
    assert first.link is second.link is selected.link


def test_each_of_many_links_loads_as_its_own():
    many = 3 * models._LOADED_LINKS
    rows = [loaded_row(n, f'["10.9.{n}.0/24","vl{n}",{n},{n},null,null]') for n in range(many)]
    loaded = leases_from_loaded([*rows, loaded_row(many, link=None)])
    assert [(lease.subnet, lease.interface, lease.ifindex, lease.vlan) for lease in loaded] == [
        *((f"10.9.{n}.0/24", f"vl{n}", n, n) for n in range(many)), (None, None, None, None)]


def test_a_lease_loaded_without_a_link_has_none():
    [lease] = leases_from_loaded([loaded_row(4, link=None)])
    assert (lease.subnet, lease.interface, lease.ifindex, lease.vlan, lease.inner_vlan, lease.relay) == (None,) * 6


@pytest.mark.parametrize("interface", ['vl"42', "vl\\42", "vlän42", "vl 42\n", ""])
@pytest.mark.parametrize("vlan", [None, 0, 4095])
def test_any_link_is_loaded_as_stored(any_store, interface, vlan):
    lease = Lease(IPv4Address("10.1.2.3"), LeaseState.ACTIVE, 1.0, 2.0, link=LeaseLink(interface=interface, vlan=vlan))
    any_store.save([lease])
    assert any_store.load_all() == [lease]


def test_a_lease_keeps_its_address_as_an_int_and_reads_and_copies_as_an_ipv4address():
    link = LeaseLink(subnet="10.1.2.0/24", interface="vl42")
    lease = Lease(IPv4Address("10.1.2.3"), LeaseState.ACTIVE, 1.0, 2.0, mac=b"\x02" * 6, link=link)
    assert lease.address == int(IPv4Address("10.1.2.3")) and lease.ip == IPv4Address("10.1.2.3")
    assert lease == Lease(int(IPv4Address("10.1.2.3")), LeaseState.ACTIVE, 1.0, 2.0, mac=b"\x02" * 6, link=link)
    assert lease.copy() == lease and lease.copy() is not lease
    assert lease.copy(ip=IPv4Address("10.1.2.4")).ip == IPv4Address("10.1.2.4")
    assert lease.copy(state=LeaseState.EXPIRED) != lease and lease != "10.1.2.3"
    assert repr(lease).startswith("Lease(ip=IPv4Address('10.1.2.3'), state=<LeaseState.ACTIVE: 'active'>, starts=1.0")


def test_a_client_id_of_01_and_the_mac_is_read_back_and_copied_as_given():
    mac = b"\x02\x00\x00\x00\x00\x07"
    lease = Lease(IPv4Address("10.1.2.3"), LeaseState.ACTIVE, 1.0, 2.0, mac=mac, client_id=b"\x01" + mac)
    assert lease.client_id == b"\x01" + mac and lease == lease.copy()
    moved = lease.copy(mac=b"\x02\x00\x00\x00\x00\x08")   # the client id stays what it was
    assert moved.client_id == b"\x01" + mac and moved.mac == b"\x02\x00\x00\x00\x00\x08"
    assert lease != Lease(IPv4Address("10.1.2.3"), LeaseState.ACTIVE, 1.0, 2.0, mac=mac, client_id=b"\x01" + mac[:5])
    assert Lease(IPv4Address("10.1.2.3"), LeaseState.ACTIVE, 1.0, 2.0, client_id=b"\x01").client_id == b"\x01"
    assert "client_id=b'\\x01\\x02\\x00" in repr(lease)
