"""A reader that handles its socket's error and calls `keep_reading` still gets the data that comes next, on
uvloop (which stops watching a socket once epoll reports an error on it) as on asyncio's own loop. The error is
made on loopback: a connected UDP socket's datagram to a closed port comes back as ECONNREFUSED."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvloop

from dhcpd.net.readers import keep_reading

pytestmark = pytest.mark.unit


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _received_after_an_error(rearm: bool) -> list[object]:
    loop = asyncio.get_running_loop()
    received: list[object] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        peer.bind(("127.0.0.1", 0))

        def readable() -> None:
            try:
                received.append(sock.recv(100))
            except OSError as error:
                received.append(type(error))
                if rearm:
                    keep_reading(loop, sock.fileno(), readable)

        loop.add_reader(sock.fileno(), readable)
        sock.connect(("127.0.0.1", _closed_port()))
        sock.send(b"to nobody")
        await _until(lambda: received)
        sock.connect(peer.getsockname())
        peer.sendto(b"after the error", sock.getsockname())
        await _until(lambda: len(received) > 1, limit=0.5)
        loop.remove_reader(sock.fileno())
    return received


async def _until(done, limit: float = 5.0) -> None:
    for _ in range(int(limit / 0.01)):
        if done():
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_a_reader_that_keeps_reading_gets_the_data_after_a_socket_error(run):
    assert run(_received_after_an_error(rearm=True)) == [ConnectionRefusedError, b"after the error"]


def test_uvloop_stops_watching_a_socket_after_its_error_unless_told_to_keep_reading():
    """Why `keep_reading` exists: without it, uvloop never calls the reader again."""
    assert uvloop.run(_received_after_an_error(rearm=False)) == [ConnectionRefusedError]
