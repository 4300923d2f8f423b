"""SIGHUP re-reads dhcpd.conf: a good file takes effect at once and keeps every lease; a bad file is
refused with its file:line errors and the server goes on serving with the old configuration."""

from __future__ import annotations

import signal
from ipaddress import IPv4Address

import pytest

from dhcpd.leases.record import LeaseState
from dhcpd.wire.message import BROADCAST_FLAG, DhcpMessage, MessageType
from tests.harness.pydhcpd import start_server, stored_leases
from tests.harness.rawclient import RawClient
from tests.harness.waiting import poll

pytestmark = pytest.mark.netns

CONFIG = """
authoritative;
default-lease-time 600;
subnet 10.61.1.0 netmask 255.255.255.0 {
  range 10.61.1.10 10.61.1.19;
  option domain-name "before.test";
}
"""
SERVER_IP = IPv4Address("10.61.1.1")
DOMAIN_NAME = 15


@pytest.fixture
def served(netns):
    """Our server on s0 (10.61.1.1/24) with CONFIG, two raw clients on c0, and the server's config file."""
    server, client_namespace = netns("tisc"), netns("tisc")
    server.veth(client_namespace, "s0", "c0")
    server.add_address("s0", "10.61.1.1/24")
    process = start_server(server, CONFIG, ["s0"])
    clients = [RawClient(client_namespace, "c0", bytes([2, 0x61, 0, 0, 0, n])) for n in (1, 2)]
    try:
        yield server, process, clients, server.workdir / "pydhcpd" / "dhcpd.conf"
    finally:
        for client in clients:
            client.close()


def exchange(client: RawClient, kind: MessageType, xid: int, options: dict[int, bytes] | None = None) -> DhcpMessage:
    client.send(client.request(kind, xid, flags=BROADCAST_FLAG, options={55: bytes([1, 15]), **(options or {})}))
    replies = client.replies(xid)
    assert replies, f"no reply to {kind.name} {xid}"
    return replies[0][0]


def acquire(client: RawClient, xid: int) -> DhcpMessage:
    offer = exchange(client, MessageType.DISCOVER, xid)
    return exchange(client, MessageType.REQUEST, xid + 1, {50: offer.yiaddr.packed, 54: SERVER_IP.packed})


def reload(process, config_file, text: str, outcome: str) -> None:
    config_file.write_text(text)
    seen = process.log().count(outcome)
    process.signal(signal.SIGHUP)
    assert poll(lambda: True if process.log().count(outcome) > seen else None, 10), process.log()


def active_leases(server) -> dict[IPv4Address, object]:
    return {ip: lease for ip, lease in stored_leases(server).items() if lease.state is LeaseState.ACTIVE}


def test_good_reload_takes_effect_and_keeps_leases(served):
    server, process, (client, other), config_file = served
    ack = acquire(client, 100)
    assert ack.message_type is MessageType.ACK and ack.options[DOMAIN_NAME] == b"before.test"
    reload(process, config_file, CONFIG.replace("before.test", "after.test"), "configuration reloaded")
    renewed = acquire(client, 200)
    assert renewed.message_type is MessageType.ACK and renewed.yiaddr == ack.yiaddr
    assert renewed.options[DOMAIN_NAME] == b"after.test"
    assert ack.yiaddr in active_leases(server)


def test_reload_that_drops_a_range_keeps_its_leases(served):
    server, process, (client, other), config_file = served
    ack = acquire(client, 100)
    narrowed = CONFIG.replace("range 10.61.1.10 10.61.1.19;", "range 10.61.1.50 10.61.1.59;")
    reload(process, config_file, narrowed, "configuration reloaded")
    assert ack.yiaddr in active_leases(server)
    reload(process, config_file, CONFIG, "configuration reloaded")
    assert exchange(other, MessageType.DISCOVER, 300).yiaddr != ack.yiaddr
    assert acquire(client, 400).yiaddr == ack.yiaddr


def test_bad_reload_is_refused_with_file_and_line_and_old_config_serves(served):
    server, process, (client, other), config_file = served
    ack = acquire(client, 100)
    broken = CONFIG.replace('option domain-name "before.test";', 'option domain-name "x";\n  frobnicate 7;')
    reload(process, config_file, broken, "configuration not reloaded")
    assert f"{config_file} line 7: frobnicate is not supported" in process.log()
    renewed = acquire(client, 200)
    assert renewed.yiaddr == ack.yiaddr and renewed.options[DOMAIN_NAME] == b"before.test"
    assert process.alive()
