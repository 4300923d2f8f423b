"""Per-link counters: a link's drop counter exists only once the link has dropped a packet."""

from __future__ import annotations

import pytest

from dhcpd.stats import Stats

pytestmark = pytest.mark.unit


def test_a_link_counts_drops_by_reason_from_its_first_drop():
    stats = Stats()
    stats.links["s1"].requests += 1
    assert stats.links["s1"].drops is None
    stats.drop("no-free-leases", "s1")
    stats.drop("no-free-leases", "s1")
    stats.drop("unknown-network")
    assert stats.links["s1"].drops == {"no-free-leases": 2}
    assert stats.drops == {"no-free-leases": 2, "unknown-network": 1}
    assert set(stats.links) == {"s1"}


def test_packets_are_counted_by_message_type_name_listing_only_the_counted_ones():
    stats = Stats()
    stats.received["DHCPDISCOVER"] += 1
    stats.received["DHCPDISCOVER"] += 1
    stats.sent["DHCPOFFER"] += 1
    assert dict(stats.received) == {"DHCPDISCOVER": 2}
    assert dict(stats.sent) == {"DHCPOFFER": 1}
