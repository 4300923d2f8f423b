"""Group commit in the loop: a lease decided after a quiet moment is committed at once; leases decided within
COMMIT_INTERVAL of the last commit's start wait for that interval's end and share one commit; each ACK leaves
only after the commit of its lease; `drain` commits what waits without waiting for the interval."""

from __future__ import annotations

import asyncio
import time
from ipaddress import IPv4Address, IPv4Interface

import pytest

import dhcpd.server
from dhcpd.config.parser import parse_text
from dhcpd.engine.types import Ingress
from dhcpd.server import Server, Settings
from dhcpd.wire.message import DhcpMessage, MessageType

pytestmark = pytest.mark.unit

CONFIG = "authoritative;\nsubnet 10.67.0.0 netmask 255.255.255.0 { range 10.67.0.10 10.67.0.200; }\n"
LINK = Ingress("s1", 5, (IPv4Interface("10.67.0.1/24"),))
SERVER_ID = IPv4Address("10.67.0.1").packed


class RecordingCommitter:
    """Commits nothing; remembers each batch, and what had been sent when it came."""

    def __init__(self, sent: list[bytes]) -> None:
        self.batches: list[list[IPv4Address]] = []
        self.sent_before: list[int] = []
        self._sent = sent

    def commit_now(self, leases):
        self.batches.append([lease.ip for lease in leases])
        self.sent_before.append(len(self._sent))
        return frozenset()


class RecordingTransmitter:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, payload, destination, ingress, server_ip) -> None:
        self.sent.append(payload)


def message(kind: MessageType, mac: bytes, address: IPv4Address | None = None) -> DhcpMessage:
    options = {53: bytes([kind])}
    if address is not None:
        options.update({50: address.packed, 54: SERVER_ID})
    return DhcpMessage(xid=int.from_bytes(mac[-2:], "big"), chaddr=mac, options=options)


def serving(store, tmp_path) -> tuple[Server, RecordingCommitter, RecordingTransmitter]:
    server = Server(Settings(str(tmp_path / "dhcpd.conf"), str(store.engine.url), log_writer=lambda lines: None),
                    parse_text(CONFIG), store)
    server.transmitter = RecordingTransmitter()
    server.committer = RecordingCommitter(server.transmitter.sent)
    return server, server.committer, server.transmitter


def offered_clients(server: Server, count: int) -> list[tuple[bytes, IPv4Address]]:
    """`count` clients (MAC, address) that each have an offer and have not requested it yet."""
    macs = [bytes.fromhex("020000000000")[:-2] + n.to_bytes(2, "big") for n in range(count)]
    return [(mac, server.engine.handle(message(MessageType.DISCOVER, mac), LINK, time.time()).reply.yiaddr)
            for mac in macs]


def requesting(server: Server, client: tuple[bytes, IPv4Address]) -> None:
    server.handle_message(message(MessageType.REQUEST, *client), LINK)


def test_leases_decided_back_to_back_share_one_commit_after_the_interval(store, tmp_path, monkeypatch):
    interval = 0.3   # long enough that a slow machine still decides the next two leases within it
    monkeypatch.setattr(dhcpd.server, "COMMIT_INTERVAL", interval)
    server, committer, transmitter = serving(store, tmp_path)
    first, *others = offered_clients(server, 3)

    async def scenario() -> None:
        requesting(server, first)
        await asyncio.sleep(0)
        assert committer.batches == [[first[1]]], "after a quiet moment the commit starts at once"
        assert len(transmitter.sent) == 1
        for client in others:
            requesting(server, client)
        await asyncio.sleep(0)
        assert len(committer.batches) == 1 and len(transmitter.sent) == 1, "within the interval, they wait"
        await asyncio.sleep(interval * 2)
        assert committer.batches[1:] == [[address for _, address in others]]
        assert len(transmitter.sent) == 3

    asyncio.run(scenario())
    assert committer.sent_before == [0, 1], "every ACK leaves after its lease's commit"


def test_drain_commits_what_waits_without_waiting_for_the_interval(store, tmp_path, monkeypatch):
    monkeypatch.setattr(dhcpd.server, "COMMIT_INTERVAL", 60.0)
    server, committer, transmitter = serving(store, tmp_path)
    clients = offered_clients(server, 2)

    async def scenario() -> None:
        for client in clients:
            requesting(server, client)
            await asyncio.sleep(0)
        assert len(committer.batches) == 1
        await server.drain()

    asyncio.run(scenario())
    assert committer.batches == [[address] for _, address in clients]
    assert len(transmitter.sent) == 2
