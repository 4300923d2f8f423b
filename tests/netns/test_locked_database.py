"""While another process holds the lease database's write lock, the server keeps answering: DISCOVERs get their
OFFERs at once, and an ACK leaves only after its lease is committed, by the commit thread, once the lock is
released (the event loop never waits for the lock itself)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from dhcpd.leases.record import LeaseState
from dhcpd.wire.message import MessageType
from tests.harness.pydhcpd import database_path, start_server, stored_leases
from tests.harness.rawclient import RawClient

pytestmark = pytest.mark.netns

DEMO_CONFIG = (Path(__file__).resolve().parents[2] / "etc" / "demo.conf").read_text()
LOCK_SECONDS = 2.0


def test_a_locked_database_delays_the_ack_until_its_commit_but_never_the_offers(netns):
    server, client_side = netns("srv"), netns("c1")
    server.veth(client_side, "s1", "c1")
    server.add_address("s1", "10.77.1.1/24")
    process = start_server(server, DEMO_CONFIG)
    client = RawClient(client_side, "c1", bytes.fromhex("020000cc0001"))
    locker = sqlite3.connect(database_path(server), isolation_level=None, timeout=10)
    try:
        client.send(client.request(MessageType.DISCOVER, 1))
        offer = client.replies(1)[0][0]
        locker.execute("BEGIN IMMEDIATE")          # another writer, e.g. an import, holds the lock
        locked_at = time.monotonic()
        client.send(client.request(MessageType.REQUEST, 2, options={50: offer.yiaddr.packed, 54: offer.options[54]}))
        assert client.replies(2, timeout=0.5) == []    # not acknowledged while it cannot be committed
        other = RawClient(client_side, "c1", bytes.fromhex("020000cc0002"))
        try:
            other.send(other.request(MessageType.DISCOVER, 3))
            answered = other.replies(3, timeout=1.0)
        finally:
            other.close()
        assert answered and answered[0][0].message_type is MessageType.OFFER, process.log()
        assert time.monotonic() - locked_at < LOCK_SECONDS
        time.sleep(max(0.0, LOCK_SECONDS - (time.monotonic() - locked_at)))
        locker.execute("COMMIT")
        ack = client.replies(2, timeout=5.0)
        assert ack and ack[0][0].message_type is MessageType.ACK, process.log()
        assert stored_leases(server)[offer.yiaddr].state is LeaseState.ACTIVE
    finally:
        locker.close()
        client.close()
