"""The server's commit-then-send path when the database refuses a lease (another server took the address):
no DHCPACK is sent or logged, the index takes the winning lease, and the follower brings in other servers'
changes without overwriting this server's newer offers."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from ipaddress import IPv4Address, IPv4Interface

import pytest

from dhcpd.config.parser import parse_text
from dhcpd.engine.types import Ingress
from dhcpd.leases.follower import ChangeFollower
from dhcpd.leases.group_commit import GroupCommitter
from dhcpd.leases.record import Lease, LeaseState
from dhcpd.server import Server, Settings
from dhcpd.wire.message import DhcpMessage, MessageType

pytestmark = pytest.mark.unit

CONFIG = "authoritative;\nsubnet 10.66.0.0 netmask 255.255.255.0 { range 10.66.0.10 10.66.0.20; }\n"
LINK = Ingress("s1", 5, (IPv4Interface("10.66.0.1/24"),))
SERVER_ID = IPv4Address("10.66.0.1").packed
MAC_HERE, MAC_ELSEWHERE = bytes.fromhex("0200000000aa"), bytes.fromhex("0200000000bb")


def request(kind: MessageType, mac: bytes, address: IPv4Address | None = None) -> DhcpMessage:
    options = {53: bytes([kind])}
    if address is not None:
        options.update({50: address.packed, 54: SERVER_ID})
    return DhcpMessage(xid=1, chaddr=mac, options=options)


def elsewhere(address: IPv4Address, state: LeaseState = LeaseState.ACTIVE) -> Lease:
    now = time.time()
    return Lease(address, state, now, now + 600, mac=MAC_ELSEWHERE)


@pytest.mark.parametrize("write_lock_held", [False, True], ids=["commit-in-loop", "commit-thread"])
def test_a_lease_lost_to_another_server_is_neither_sent_nor_logged_and_the_index_learns_the_winner(
        store, tmp_path, write_lock_held):
    logged: list[str] = []
    server = Server(Settings(str(tmp_path / "dhcpd.conf"), str(store.engine.url), log_writer=logged.extend),
                    parse_text(CONFIG), store)
    offer = server.engine.handle(request(MessageType.DISCOVER, MAC_HERE), LINK, time.time())
    address = offer.reply.yiaddr
    store.claim([elsewhere(address)])      # another server acknowledged it in between
    message = request(MessageType.REQUEST, MAC_HERE, address)
    decision = server.engine.handle(message, LINK, time.time())
    assert decision.reply.message_type is MessageType.ACK

    async def commit():
        server.committer = GroupCommitter(store)
        server.committer.start()
        locker = sqlite3.connect(store.engine.url.database, isolation_level=None)
        if write_lock_held:  # the loop cannot commit at once: the commit thread waits for the lock
            locker.execute("BEGIN IMMEDIATE")
            asyncio.get_running_loop().call_later(0.2, locker.execute, "COMMIT")
        server._to_commit.append((message, decision, LINK))
        server._commit_queued()
        await server.drain()   # no transmitter: sending would raise
        await server.committer.stop()
        locker.close()
        server.packet_log.flush()

    asyncio.run(commit())
    assert server.stats.drops["lease-conflict"] == 1
    assert server.engine.leases.get(address).mac == MAC_ELSEWHERE
    assert store.get(address).mac == MAC_ELSEWHERE
    assert not any(line.startswith("DHCPACK on") for line in logged), logged
    assert any("taken by another server" in line for line in logged), logged
    retry = server.engine.handle(message, LINK, time.time())
    assert retry.reply.message_type is MessageType.NAK


def test_the_follower_takes_in_other_servers_leases_but_keeps_a_newer_offer_of_a_free_address(store, tmp_path):
    server = Server(Settings(str(tmp_path / "dhcpd.conf"), str(store.engine.url)), parse_text(CONFIG), store)
    offer = server.engine.handle(request(MessageType.DISCOVER, MAC_HERE), LINK, time.time())
    offered = offer.reply.yiaddr
    taken, released = IPv4Address("10.66.0.19"), IPv4Address("10.66.0.20")
    moment = time.time()
    store.claim([elsewhere(taken), elsewhere(offered, LeaseState.RELEASED)])
    follower = ChangeFollower(store, lambda: server.engine.leases)
    changed = store.changed_since(moment)
    assert follower.apply(changed, time.time()) == 1
    assert server.engine.leases.get(taken).mac == MAC_ELSEWHERE
    assert server.engine.leases.get(offered).state is LeaseState.OFFERED
    assert follower.apply(changed, time.time()) == 0
    store.claim([elsewhere(released)])
    follower.apply(store.changed_since(moment), time.time())
    assert not server.engine.leases.is_free(released, time.time())
