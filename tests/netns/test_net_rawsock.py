"""The one unbound, filtered ETH_P_IP packet socket: each UDP/67 broadcast once per interface, nothing else,
bridge ports delivered as the bridge, exactly one packet socket in the namespace."""

from __future__ import annotations

import socket

import pytest

from dhcpd.net.rawsock import PACKET_BROADCAST, open_packet_socket, receive
from dhcpd.wire.frame import decode_frame
from tests.harness.namespace_sockets import open_inside
from tests.harness.waiting import poll

pytestmark = pytest.mark.netns

WAIT_SECONDS = 5.0


def udp_sender(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    return sock


def tcp_syn_to(namespace, address: str, port: int) -> None:
    """Connect to a closed TCP port: the refusal proves the SYN reached the server side."""
    client = open_inside(namespace, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    with client:
        client.settimeout(WAIT_SECONDS)
        with pytest.raises(ConnectionRefusedError):
            client.connect((address, port))


def receive_until_markers(sock: socket.socket, expected_markers: int) -> list[tuple[bytes, int, int]]:
    """Everything the packet socket delivers until `expected_markers` frames carrying b"end" have arrived."""
    received: list[tuple[bytes, int, int]] = []

    def all_markers_in() -> bool | None:
        while (item := receive(sock)) is not None:
            received.append(item)
        markers = sum(decode_frame(frame).payload == b"end" for frame, _, _ in received)
        return True if markers >= expected_markers else None

    assert poll(all_markers_in, WAIT_SECONDS), f"markers missing; received {received}"
    return received


def ifindex_inside(namespace, ifname: str) -> int:
    return int(namespace.run(["cat", f"/sys/class/net/{ifname}/ifindex"]).stdout)


def test_unbound_socket_hears_each_interface_once_and_only_udp_67(netns):
    server = netns("tnet")
    peers = [netns("tnet") for _ in range(3)]
    for number, peer in enumerate(peers):
        server.veth(peer, f"srv{number}", "eth0")
        server.add_address(f"srv{number}", f"10.77.{number}.1/24")
        peer.add_address("eth0", f"10.77.{number}.2/24")
    packet_sock = open_inside(server, open_packet_socket)
    with packet_sock:
        for number, peer in enumerate(peers):
            tcp_syn_to(peer, f"10.77.{number}.1", 67)
            with open_inside(peer, lambda: udp_sender("eth0")) as sender:
                sender.sendto(b"to-client-port", ("255.255.255.255", 68))
                sender.sendto(b"fragmented" * 300, ("255.255.255.255", 67))
                sender.sendto(f"hello from {number}".encode(), ("255.255.255.255", 67))
                sender.sendto(b"end", ("255.255.255.255", 67))
        received = receive_until_markers(packet_sock, len(peers))

    expected = []
    for number in range(len(peers)):
        ifindex = ifindex_inside(server, f"srv{number}")
        expected += [(f"hello from {number}".encode(), ifindex, PACKET_BROADCAST), (b"end", ifindex, PACKET_BROADCAST)]
    assert [(decode_frame(frame).payload, ifindex, pkttype) for frame, ifindex, pkttype in received] == expected


def test_bridge_port_frame_arrives_once_as_the_bridge(netns):
    server = netns("tnet")
    peers = [netns("tnet") for _ in range(2)]
    server.add_bridge("br0")
    for number, peer in enumerate(peers):
        server.veth(peer, f"port{number}", "eth0")
        server.attach_to_bridge(f"port{number}", "br0")
    packet_sock = open_inside(server, open_packet_socket)
    with packet_sock:
        for peer in peers:
            with open_inside(peer, lambda: udp_sender("eth0")) as sender:
                sender.sendto(b"discover", ("255.255.255.255", 67))
                sender.sendto(b"end", ("255.255.255.255", 67))
        received = receive_until_markers(packet_sock, len(peers))

    bridge = ifindex_inside(server, "br0")
    assert [(decode_frame(frame).payload, ifindex) for frame, ifindex, _ in received] == [
        (b"discover", bridge), (b"end", bridge)] * len(peers)


def test_namespace_has_exactly_one_packet_socket(netns):
    server = netns("tnet")
    with open_inside(server, open_packet_socket):
        table = server.run(["cat", "/proc/net/packet"]).stdout.splitlines()
    header, *sockets = table
    assert header.split()[0] == "sk" and len(sockets) == 1
