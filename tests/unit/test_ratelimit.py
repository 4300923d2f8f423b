"""Rate limits and the DECLINE guard: token buckets per MAC and per link, bounded memory, and the cap on
declined addresses per subnet and DECLINEs per client."""

from __future__ import annotations

import math
import random
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from dhcpd.config.parser import parse_text
from dhcpd.decline_guard import DeclineGuard
from dhcpd.engine.engine import Engine
from dhcpd.engine.types import Ingress
from dhcpd.leases.record import LeaseState
from dhcpd.ratelimit import DROP_LINK, DROP_MAC, Rate, RateLimiter, RequestLimits, parse_rate
from dhcpd.wire.message import DhcpMessage, MessageType

pytestmark = pytest.mark.unit

LINK = Ingress("s1", 3, (IPv4Interface("10.5.0.1/24"),))
OTHER_LINK = Ingress("s2", 4, (IPv4Interface("10.6.0.1/24"),))
CONFIG = """
authoritative;
subnet 10.5.0.0 netmask 255.255.255.0 { range 10.5.0.10 10.5.0.17; }
"""
SERVER_ID = IPv4Address("10.5.0.1").packed


def mac(n: int) -> bytes:
    return bytes([2, 0, 0, 0, n >> 8, n & 0xFF])


def discover(n: int, giaddr: str = "0.0.0.0") -> DhcpMessage:
    return DhcpMessage(xid=n, chaddr=mac(n), giaddr=IPv4Address(giaddr), options={53: bytes([MessageType.DISCOVER])})


@pytest.mark.parametrize("text, rate", [
    ("10/s", Rate(10, 1.0)), ("600/m", Rate(600, 60.0)), (" 5 / h ", Rate(5, 3600.0)), ("2.5/s", Rate(2.5, 1.0)),
    ("off", None), ("OFF", None), ("0/s", None),
])
def test_parse_rate_reads_count_per_unit_or_off(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["10", "10/d", "-1/s", "fast", "", "1/s/s"])
def test_parse_rate_refuses_anything_else_with_the_text_in_the_message(text):
    with pytest.raises(ValueError, match="is not N/s, N/m, N/h or off"):
        parse_rate(text)


def test_bucket_allows_a_burst_then_refills_at_the_rate():
    limiter = RateLimiter(Rate(3, 1.0))
    assert [limiter.allow("k", 100.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("k", 100.4) is True          # 0.4 s refilled 1.2 tokens
    assert limiter.allow("k", 100.4) is False
    assert [limiter.allow("k", 200.0) for _ in range(4)] == [True, True, True, False]   # never more than the burst


def test_keys_have_their_own_buckets():
    limiter = RateLimiter(Rate(1, 60.0))
    assert limiter.allow("a", 0.0) and not limiter.allow("a", 1.0)
    assert limiter.allow("b", 1.0)


def test_memory_is_bounded_by_evicting_the_bucket_used_longest_ago():
    limiter = RateLimiter(Rate(1, 3600.0), max_keys=100)
    for n in range(10_000):
        limiter.allow(n, float(n))
    assert len(limiter) == 100
    assert not limiter.allow(9_999, 10_000.0)         # recent buckets are kept
    assert limiter.allow(0, 10_000.0)                 # the oldest was evicted, so it starts full again


class NeverForgetting(RateLimiter):
    """The limiter as it was before it forgot refilled buckets: every key's bucket stays."""

    def __init__(self, rate: Rate) -> None:
        super().__init__(rate)
        self.full_after = math.inf


def test_a_new_key_forgets_the_buckets_of_the_generation_before_the_current_one():
    limiter = RateLimiter(Rate(2, 1.0))
    limiter.allow("first", 0.0)           # begins a generation
    limiter.allow("second", 0.9)
    limiter.allow("third", 1.0)           # begins the next: first and second are the older generation
    assert len(limiter) == 3
    limiter.allow("first", 1.5)           # touched again: in the current generation
    limiter.allow("fourth", 2.0)          # second (touched at 0.9, full again at 1.9) is forgotten
    assert len(limiter) == 3


def test_the_buckets_of_a_burst_of_clients_go_as_later_clients_come():
    limiter = RateLimiter(Rate(50, 1.0))
    for n in range(1_000):
        limiter.allow(("burst", n), 0.0)
    for n in range(600):
        limiter.allow(("later", n), 10.0 + n / 200)
    assert len(limiter) < 600


def test_forgetting_refilled_buckets_changes_no_answer():
    forgetting, keeping = RateLimiter(Rate(3, 1.0)), NeverForgetting(Rate(3, 1.0))
    chosen, now, moments = random.Random(7), 0.0, []
    for n in range(2_000):    # new clients among a few busy ones, each of which sometimes sends a burst
        now += chosen.uniform(0.0, 0.2)
        key = ("new", n) if chosen.random() < 0.5 else ("busy", chosen.randrange(5))
        moments += [(key, now)] * chosen.choice((1, 1, 4))
    answers = [forgetting.allow(*moment) for moment in moments]
    assert answers == [keeping.allow(*moment) for moment in moments]
    assert False in answers and len(forgetting) < 100 < len(keeping)


def test_a_flooding_mac_is_cut_without_eating_its_links_budget():
    limits = RequestLimits(per_mac=Rate(5, 1.0), per_link=Rate(20, 1.0))
    flood = [limits.refusal(discover(1), LINK, 0.0) for _ in range(100)]
    assert flood.count(None) == 5 and set(flood) == {None, DROP_MAC}
    assert all(limits.refusal(discover(n), LINK, 0.0) is None for n in range(2, 17))


def test_a_storm_of_random_macs_is_cut_per_link_and_other_links_go_on():
    limits = RequestLimits(per_mac=Rate(5, 1.0), per_link=Rate(50, 1.0))
    storm = [limits.refusal(discover(n), LINK, 0.0) for n in range(1, 1001)]
    assert storm.count(None) == 50 and storm.count(DROP_LINK) == 950
    assert limits.refusal(discover(2000), OTHER_LINK, 0.0) is None
    assert limits.refusal(discover(2001, giaddr="10.7.0.1"), LINK, 0.0) is None    # a relayed segment is its own link


def test_limits_that_are_off_never_refuse():
    limits = RequestLimits(per_mac=None, per_link=None)
    assert all(limits.refusal(discover(1), LINK, 0.0) is None for _ in range(10_000))


# -- the DECLINE guard --------------------------------------------------------------------------------


def acquire(engine: Engine, n: int, now: float) -> IPv4Address:
    offer = engine.handle(discover(n), LINK, now).reply
    request = DhcpMessage(xid=n, chaddr=mac(n), options={53: bytes([MessageType.REQUEST]), 50: offer.yiaddr.packed,
                                                         54: SERVER_ID})
    ack = engine.handle(request, LINK, now).reply
    assert ack.message_type is MessageType.ACK
    return ack.yiaddr


def decline(engine: Engine, guard: DeclineGuard, n: int, address: IPv4Address, now: float) -> str | None:
    """The guard's verdict on client n declining `address`; the engine handles what the guard lets through."""
    message = DhcpMessage(xid=n, chaddr=mac(n), options={53: bytes([MessageType.DECLINE]), 50: address.packed,
                                                         54: SERVER_ID})
    refusal = guard.refusal(message, engine, now, now)
    if refusal is None:
        guard.record(engine, engine.handle(message, LINK, now).persist)
    return refusal


def test_declines_stop_at_a_quarter_of_the_pool_and_the_rest_stays_leased():
    engine, guard = Engine(parse_text(CONFIG)), DeclineGuard(0.25, per_mac=None)
    addresses = {n: acquire(engine, n, 1000.0) for n in range(1, 9)}
    verdicts = [decline(engine, guard, n, address, 1000.0) for n, address in addresses.items()]
    assert verdicts == [None, None] + ["decline-limit"] * 6            # 25% of 8 addresses
    states = [engine.leases.get(address).state for address in addresses.values()]
    assert states.count(LeaseState.DECLINED) == 2 and states.count(LeaseState.ACTIVE) == 6
    assert guard.declined_in(IPv4Network("10.5.0.0/24")) == 2


def test_declined_addresses_that_left_probation_free_the_cap_again():
    engine = Engine(parse_text(CONFIG), decline_probation=100)
    guard = DeclineGuard(0.25, per_mac=None)
    first = {n: acquire(engine, n, 1000.0) for n in (1, 2, 3)}
    assert [decline(engine, guard, n, address, 1000.0) for n, address in first.items()] == [None, None, "decline-limit"]
    engine.leases.reclaim(1200.0)
    assert decline(engine, guard, 3, first[3], 1200.0) is None
    assert guard.declined_in(IPv4Network("10.5.0.0/24")) == 1


def test_one_client_may_decline_only_so_often():
    engine, guard = Engine(parse_text(CONFIG)), DeclineGuard(1.0, per_mac=Rate(2, 3600.0))
    verdicts = [decline(engine, guard, 1, acquire(engine, 1, 1000.0 + t), 1000.0 + t) for t in range(4)]
    assert verdicts == [None, None, "decline-limit", "decline-limit"]


def test_declined_leases_from_the_database_count_from_the_start():
    engine = Engine(parse_text(CONFIG))
    guard = DeclineGuard(0.25, per_mac=None)
    addresses = [acquire(engine, n, 1000.0) for n in (1, 2, 3)]
    for address in addresses[:2]:
        engine.leases.put(engine.leases.get(address).copy(state=LeaseState.DECLINED, expires=90_000.0))
    guard.track(engine, engine.leases)
    assert decline(engine, guard, 3, addresses[2], 1000.0) == "decline-limit"


def test_a_fraction_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        DeclineGuard(1.5)
