"""The guard socket: with it, a UDP request to port 67 draws no ICMP port unreachable, and nothing queues."""

from __future__ import annotations

import socket

import pytest

from dhcpd.net.guard import open_guard_socket
from tests.harness.namespace_sockets import open_inside

pytestmark = pytest.mark.netns

SERVER_IP = "10.79.0.1"
PEER_IP = "10.79.0.2"
CLOSED_PORT = 9
WAIT_SECONDS = 5.0


def connected_udp(port: int):
    def opener() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((SERVER_IP, port))
        return sock
    return opener


def port_67_refused(peer) -> bool:
    """Send to port 67, then to a closed port; once the closed port's ICMP error is back, any error for
    port 67 (sent earlier along the same path) is back too."""
    with open_inside(peer, connected_udp(67)) as to_67, open_inside(peer, connected_udp(CLOSED_PORT)) as probe:
        to_67.send(b"request")
        probe.send(b"probe")
        probe.settimeout(WAIT_SECONDS)
        with pytest.raises(ConnectionRefusedError):
            probe.recv(16)
        to_67.setblocking(False)
        try:
            to_67.recv(16)
        except ConnectionRefusedError:
            return True
        except BlockingIOError:
            return False
    raise AssertionError("nothing should answer the peer's request with data")


def test_guard_socket_prevents_port_unreachable_and_receives_nothing(netns):
    server, peer = netns("tnet"), netns("tnet")
    server.veth(peer, "srv0", "eth0")
    server.add_address("srv0", f"{SERVER_IP}/24")
    peer.add_address("eth0", f"{PEER_IP}/24")

    assert port_67_refused(peer), "without the guard socket the kernel answers ICMP port unreachable"
    with open_inside(server, open_guard_socket) as guard:
        assert not port_67_refused(peer)
        with pytest.raises(BlockingIOError):
            guard.recv(2048)
