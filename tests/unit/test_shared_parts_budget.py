"""The memos of replies' shared parts stay within their bounds (per stack and all together), and a reply made
after they were emptied is the one made before."""

from __future__ import annotations

import time
from ipaddress import IPv4Interface

import pytest

from dhcpd.config.parser import parse_text
from dhcpd.engine import reply
from dhcpd.engine.engine import Engine
from dhcpd.engine.types import Ingress
from dhcpd.wire.message import DhcpMessage, MessageType

pytestmark = pytest.mark.unit

CONFIG = """authoritative;
option domain-name-servers 10.0.0.53;
subnet 10.67.0.0 netmask 255.255.0.0 { range 10.67.0.10 10.67.9.200; option routers 10.67.0.1; }
"""
LINK = Ingress("s1", 5, (IPv4Interface("10.67.0.1/16"),))


def test_entries_stay_within_the_limit_of_one_memo_and_of_all_of_them(monkeypatch):
    monkeypatch.setattr(reply, "SHARED_PARTS_LIMIT", 10)
    monkeypatch.setattr(reply, "MEMO_LIMIT", 4)
    budget = reply._SharedPartsBudget()
    memos = [{} for _ in range(5)]
    for n in range(300):
        memo = memos[0] if n % 2 else memos[n % 5]   # one stack sees many more lists than the others
        budget.admit(memo)
        memo[n] = n
        assert sum(map(len, memos)) == budget.entries <= 10
        assert max(map(len, memos)) <= 4
        assert len({id(listed) for listed in budget.memos}) == len(budget.memos) <= 5


def test_a_reply_made_after_the_memos_were_emptied_is_the_same(monkeypatch):
    monkeypatch.setattr(reply, "SHARED_PARTS_LIMIT", 8)
    monkeypatch.setattr(reply, "_shared_parts_budget", reply._SharedPartsBudget())
    engine = Engine(parse_text(CONFIG))

    def offer(client: int, parameters: bytes) -> DhcpMessage:
        request = DhcpMessage(xid=client, chaddr=client.to_bytes(6, "big"),
                              options={53: bytes([MessageType.DISCOVER]), 55: parameters})
        return engine.handle(request, LINK, time.time()).reply

    first = offer(1, bytes([1, 3, 6]))
    for client in range(2, 40):
        offer(client, bytes([1, 3, 6, 100 + client]))
    assert reply._shared_parts_budget.entries <= 8
    again = offer(1, bytes([1, 3, 6]))
    assert (again.yiaddr, again.options) == (first.yiaddr, first.options)
