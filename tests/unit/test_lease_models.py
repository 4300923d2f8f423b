"""Unit tests of `lease_from_tuple`: the values many leases carry are one object each, whatever the row."""

import pickle
from ipaddress import IPv4Address

import pytest

from dhcpd.leases import models
from dhcpd.leases.models import lease_from_tuple

pytestmark = pytest.mark.unit


def fresh(value):
    """An equal but distinct object, as the database driver makes one per row."""
    return pickle.loads(pickle.dumps(value))


def row(ip: int, ifindex: int | None = 1042, vlan: int | None = 142, relay: str | None = "10.9.0.1") -> tuple:
    return (ip, "active", 1.0, 2.0, None, None, None, "10.9.0.0/24", "vl42", fresh(ifindex), fresh(vlan),
            fresh(4000), fresh(relay), None, None)


def test_leases_of_one_link_share_its_numbers_and_relay():
    first, second = lease_from_tuple(row(1)), lease_from_tuple(row(2))
    assert (first.ifindex, first.vlan, first.inner_vlan, first.relay) == (1042, 142, 4000, IPv4Address("10.9.0.1"))
    assert first.ifindex is second.ifindex and first.vlan is second.vlan and first.inner_vlan is second.inner_vlan
    assert first.relay is second.relay


def test_missing_values_stay_missing():
    lease = lease_from_tuple(row(3, ifindex=None, vlan=None, relay=None))
    assert (lease.ifindex, lease.vlan, lease.relay) == (None, None, None)


def test_the_shared_values_are_bounded(monkeypatch):
    monkeypatch.setattr(models, "_SHARED_LIMIT", 4)
    for n in range(20):
        assert lease_from_tuple(row(n, ifindex=n, relay=f"10.9.1.{n}")).relay == IPv4Address(f"10.9.1.{n}")
    assert len(models._shared_ints) <= 4 + 3 and len(models._shared_relays) <= 4 + 1
