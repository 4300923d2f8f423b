"""Graceful stop: an ACK in flight when SIGTERM arrives is committed and sent, the server exits 0 and removes
its pid file, and it tells systemd READY=1 once serving and STOPPING=1 when the stop begins ($NOTIFY_SOCKET).

The ACK is held in flight by a write lock on the SQLite lease database taken from the test (the server's
commit waits on its busy timeout); SIGTERM is sent once the REST API counts the REQUEST as received, and
the lock released only once the server has said STOPPING=1.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
from ipaddress import IPv4Address

import pytest

from dhcpd.leases.record import LeaseState
from dhcpd.leases.store import LeaseStore
from dhcpd.wire.message import BROADCAST_FLAG, MessageType
from tests.harness.pydhcpd import database_path, database_url, start_server
from tests.harness.rawclient import RawClient
from tests.harness.waiting import poll

pytestmark = pytest.mark.netns

CONFIG = """
authoritative;
subnet 10.62.1.0 netmask 255.255.255.0 { range 10.62.1.10 10.62.1.19; }
"""
SERVER_ID = IPv4Address("10.62.1.1").packed
NOTIFY_WAIT = 20.0


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    """A unix datagram socket standing in for systemd's; the server inherits $NOTIFY_SOCKET naming it."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(NOTIFY_WAIT)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    try:
        yield sock
    finally:
        sock.close()


def requests_received(server) -> int:
    """DHCPREQUESTs the server has taken in, from its REST API (log lines appear only after the commit)."""
    output = server.run(["curl", "-sf", "http://127.0.0.1:8067/api/v1/stats"]).stdout
    return json.loads(output)["received"].get("DHCPREQUEST", 0)


def test_sigterm_commits_and_sends_the_ack_in_flight_then_exits_cleanly(netns, notify_socket):
    server, client_namespace = netns("trb"), netns("trb")
    server.veth(client_namespace, "s0", "c0")
    server.add_address("s0", "10.62.1.1/24")
    process = start_server(server, CONFIG, ["s0"])
    pid_file = server.workdir / "pydhcpd" / "dhcpd.pid"
    assert notify_socket.recv(4096).split(b"\n")[0] == b"READY=1"
    assert pid_file.read_text().strip() == str(process.pid)
    client = RawClient(client_namespace, "c0", bytes.fromhex("020062000001"))
    lock = sqlite3.connect(database_path(server), timeout=10)
    try:
        client.send(client.request(MessageType.DISCOVER, 1, flags=BROADCAST_FLAG))
        offer = client.replies(1)[0][0]
        lock.execute("BEGIN IMMEDIATE")           # the server's next commit now waits for us
        client.send(client.request(MessageType.REQUEST, 2, flags=BROADCAST_FLAG,
                                   options={50: offer.yiaddr.packed, 54: SERVER_ID}))
        assert poll(lambda: True if requests_received(server) else None, 10), process.log()
        process.signal(signal.SIGTERM)
        assert notify_socket.recv(4096) == b"STOPPING=1"
        assert process.alive(), "the server must wait for the commit in flight"
        lock.rollback()
        acks = client.replies(2, timeout=15)
    finally:
        lock.close()
        client.close()
    assert process.wait(30) == 0, process.log()
    assert acks and acks[0][0].message_type is MessageType.ACK and acks[0][0].yiaddr == offer.yiaddr
    store = LeaseStore(database_url(server))
    try:
        lease = store.get(offer.yiaddr)
    finally:
        store.close()
    assert lease is not None and lease.state is LeaseState.ACTIVE and lease.mac == bytes.fromhex("020062000001")
    assert not pid_file.exists()
    assert "Server stopped." in process.log()
