"""A reply's own steps (host name, relay agent echo) run only for a reply whose context can give them something."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from dhcpd.config.model import Host
from dhcpd.config.parser import parse_text
from dhcpd.engine.reply import LEASE_STEPS, ReplyContext, ReplySteps, ScopeStack, build_reply
from dhcpd.wire.message import DhcpMessage, MessageType

pytestmark = pytest.mark.unit

SERVER = IPv4Address("10.0.0.1")
CLIENT = IPv4Address("10.0.0.50")


@pytest.fixture
def subnet():
    return parse_text("subnet 10.0.0.0 netmask 255.255.255.0 { range 10.0.0.10 10.0.0.90; }", "t.conf").subnets[0]


def discover(options: dict[int, bytes]) -> DhcpMessage:
    return DhcpMessage(xid=7, chaddr=bytes(6), options={53: bytes([MessageType.DISCOVER]), **options})


def recording_steps(calls: list[str]) -> ReplySteps:
    return ReplySteps(LEASE_STEPS.shared, (lambda ctx, reply: calls.append("own"),))


@pytest.mark.parametrize(("options", "host", "lease_hostname", "runs"), [
    ({}, None, None, False),
    ({82: b"\x01\x02ab"}, None, None, True),
    ({}, Host(name="printer"), None, True),
    ({}, None, "printer.example.org", True),
])
def test_own_steps_run_only_with_a_host_a_lease_host_name_or_a_relay_agent_option(subnet, options, host,
                                                                                   lease_hostname, runs):
    calls: list[str] = []
    ctx = ReplyContext(discover(options), MessageType.OFFER, SERVER, ScopeStack(subnet), subnet, CLIENT, 600, host,
                       lease_hostname)
    build_reply(ctx, recording_steps(calls))
    assert calls == (["own"] if runs else [])


def test_a_relayed_reply_echoes_option_82_last(subnet):
    agent = b"\x01\x02ab"
    ctx = ReplyContext(discover({82: agent}), MessageType.OFFER, SERVER, ScopeStack(subnet), subnet, CLIENT, 600)
    reply = build_reply(ctx)
    assert list(reply.options)[-1] == 82 and reply.options[82] == agent
