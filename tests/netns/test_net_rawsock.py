"""The one unbound, filtered ETH_P_IP packet socket: each UDP/67 broadcast once per interface, nothing else,
bridge ports delivered as the bridge, exactly one packet socket in the namespace; its receive ring hands
frames back whole with their interface and packet type, drops frames longer than a slot, and the server's
readable callback drains a burst in bounded steps without waking for nothing."""

from __future__ import annotations

import asyncio
import math
import select
import socket
from ipaddress import IPv4Address
from types import SimpleNamespace

import pytest

from dhcpd.net.rawsock import (OVERSIZED_DROP, PACKET_BROADCAST, PACKET_HOST, RING_FRAME_BYTES, PacketRing,
                               open_packet_socket)
from dhcpd.server import FRAMES_PER_WAKEUP, Server
from dhcpd.wire.frame import build_frame, decode_frame
from tests.harness.namespace_sockets import open_inside
from tests.harness.netns import Namespace
from tests.harness.waiting import poll

pytestmark = pytest.mark.netns

WAIT_SECONDS = 5.0
BROADCAST_MAC = b"\xff" * 6
PEER_MAC = bytes.fromhex("020000000099")
UDP_CHECKSUM_AT = 14 + 20 + 6      # Ethernet and an option-less IPv4 header, then the UDP checksum
JUMBO_MTU = 9000


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


def raw_sender(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sock.bind((ifname, 0))
    return sock


def dhcp_frame(payload: bytes, dst_mac: bytes = BROADCAST_MAC) -> bytes:
    """A complete frame to UDP/67 with a correct UDP checksum, as a client's raw socket sends it."""
    return build_frame(src_mac=PEER_MAC, dst_mac=dst_mac, src_ip=IPv4Address("0.0.0.0"),
                       dst_ip=IPv4Address("255.255.255.255"), src_port=68, dst_port=67, payload=payload)


def receive_until_markers(ring: PacketRing, expected_markers: int) -> list[tuple[bytes, int, int]]:
    """Everything the ring delivers until `expected_markers` frames carrying b"end" have arrived."""
    received: list[tuple[bytes, int, int]] = []

    def all_markers_in() -> bool | None:
        while (item := ring.receive()) is not None:
            received.append(item)
        markers = sum(decode_frame(frame).payload == b"end" for frame, _, _ in received)
        return True if markers >= expected_markers else None

    assert poll(all_markers_in, WAIT_SECONDS), f"markers missing; received {received}"
    return received


def ifindex_inside(namespace, ifname: str) -> int:
    return int(namespace.run(["cat", f"/sys/class/net/{ifname}/ifindex"]).stdout)


def mac_inside(namespace, ifname: str) -> bytes:
    return bytes.fromhex(namespace.run(["cat", f"/sys/class/net/{ifname}/address"]).stdout.strip().replace(":", ""))


def server_with_peers(netns, count: int) -> tuple[Namespace, list[Namespace]]:
    """A server namespace with srv0 .. srv<count - 1> (10.77.<n>.1/24), each a veth to its own peer's eth0 (.2)."""
    server = netns("tnet")
    peers = [netns("tnet") for _ in range(count)]
    for number, peer in enumerate(peers):
        server.veth(peer, f"srv{number}", "eth0")
        server.add_address(f"srv{number}", f"10.77.{number}.1/24")
        peer.add_address("eth0", f"10.77.{number}.2/24")
    return server, peers


def test_unbound_socket_hears_each_interface_once_and_only_udp_67(netns):
    server, peers = server_with_peers(netns, 3)
    packet_sock = open_inside(server, open_packet_socket)
    with packet_sock, PacketRing(packet_sock) as ring:
        for number, peer in enumerate(peers):
            tcp_syn_to(peer, f"10.77.{number}.1", 67)
            with open_inside(peer, lambda: udp_sender("eth0")) as sender:
                sender.sendto(b"to-client-port", ("255.255.255.255", 68))
                sender.sendto(b"fragmented" * 300, ("255.255.255.255", 67))
                sender.sendto(f"hello from {number}".encode(), ("255.255.255.255", 67))
                sender.sendto(b"end", ("255.255.255.255", 67))
        received = receive_until_markers(ring, len(peers))

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
    with packet_sock, PacketRing(packet_sock) as ring:
        for peer in peers:
            with open_inside(peer, lambda: udp_sender("eth0")) as sender:
                sender.sendto(b"discover", ("255.255.255.255", 67))
                sender.sendto(b"end", ("255.255.255.255", 67))
        received = receive_until_markers(ring, len(peers))

    bridge = ifindex_inside(server, "br0")
    assert [(decode_frame(frame).payload, ifindex) for frame, ifindex, _ in received] == [
        (b"discover", bridge), (b"end", bridge)] * len(peers)


def test_namespace_has_exactly_one_packet_socket(netns):
    server = netns("tnet")
    with open_inside(server, open_packet_socket):
        table = server.run(["cat", "/proc/net/packet"]).stdout.splitlines()
    header, *sockets = table
    assert header.split()[0] == "sk" and len(sockets) == 1


def test_ring_frames_are_whole_with_their_link_and_packet_type(netns):
    server, peers = server_with_peers(netns, 2)
    to_server = dhcp_frame(b"unicast from 1", dst_mac=mac_inside(server, "srv1"))
    raw_frames = [dhcp_frame(b"broadcast from 0"), to_server]
    with open_inside(server, open_packet_socket) as packet_sock, PacketRing(packet_sock) as ring:
        for peer, frame in zip(peers, raw_frames):
            with open_inside(peer, lambda: raw_sender("eth0")) as sender:
                sender.send(frame)
                sender.send(dhcp_frame(b"end"))
        with open_inside(peers[0], lambda: udp_sender("eth0")) as kernel_sender:
            kernel_sender.sendto(b"from the stack", ("255.255.255.255", 67))
            kernel_sender.sendto(b"end", ("255.255.255.255", 67))
        received = receive_until_markers(ring, 3)

    srv0, srv1 = ifindex_inside(server, "srv0"), ifindex_inside(server, "srv1")
    # Sent whole by a raw socket, a frame crosses the veth byte for byte, its checksum untouched.
    assert [item for item in received if decode_frame(item[0]).payload != b"end"][:2] == [
        (raw_frames[0], srv0, PACKET_BROADCAST), (to_server, srv1, PACKET_HOST)]
    # The stack leaves the UDP checksum partial (TP_STATUS_CSUMNOTREADY): the ring zeroes it, meaning "none".
    from_stack, = [frame for frame, _, _ in received if decode_frame(frame).payload == b"from the stack"]
    assert from_stack[UDP_CHECKSUM_AT:UDP_CHECKSUM_AT + 2] == b"\0\0"


def _jumbo_link(netns):
    server, peers = server_with_peers(netns, 2)
    for namespace, ifname in ((server, "srv0"), (peers[0], "eth0")):
        namespace.run(["ip", "link", "set", "dev", ifname, "mtu", str(JUMBO_MTU)])
    return server, peers


def test_frame_longer_than_a_ring_slot_arrives_whole_in_order(netns):
    server, peers = _jumbo_link(netns)
    longest_in_a_slot = RING_FRAME_BYTES - 66 - len(dhcp_frame(b""))   # 66: where the kernel puts the frame
    sizes = (longest_in_a_slot, longest_in_a_slot + 1, 4000, 8000)
    with open_inside(server, open_packet_socket) as packet_sock, PacketRing(packet_sock) as ring:
        with open_inside(peers[0], lambda: raw_sender("eth0")) as sender:
            for size in sizes:
                sender.send(dhcp_frame(b"j" * size))
            sender.send(dhcp_frame(b"end"))
        received = receive_until_markers(ring, 1)
    assert [len(decode_frame(frame).payload) for frame, _, _ in received] == [*sizes, 3]
    assert {(ifindex, pkttype) for _, ifindex, pkttype in received} == {(ifindex_inside(server, "srv0"),
                                                                         PACKET_BROADCAST)}
    assert ring.drops == {}


def test_frame_longer_than_a_slot_with_the_socket_queue_full_is_dropped_and_counted(netns):
    server, peers = _jumbo_link(netns)

    def packet_socket_with_a_small_queue():
        sock = open_packet_socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)   # the kernel's minimum: one copy fills it
        return sock

    with open_inside(server, packet_socket_with_a_small_queue) as packet_sock, PacketRing(packet_sock) as ring:
        with open_inside(peers[0], lambda: raw_sender("eth0")) as sender:
            sender.send(dhcp_frame(b"first" * 800))
            sender.send(dhcp_frame(b"second" * 800))
            sender.send(dhcp_frame(b"after"))
            sender.send(dhcp_frame(b"end"))
        received = receive_until_markers(ring, 1)
    assert [decode_frame(frame).payload for frame, _, _ in received] == [b"first" * 800, b"after", b"end"]
    assert ring.drops == {OVERSIZED_DROP: 1}


def test_readable_callback_drains_a_burst_in_bounded_steps_and_never_wakes_for_nothing(netns):
    server, peers = server_with_peers(netns, 2)
    burst = [dhcp_frame(f"frame {number}".encode()) for number in range(3 * FRAMES_PER_WAKEUP + 17)]
    handled: list[bytes] = []
    frames_per_wakeup: list[int] = []

    async def serve_until_all_handled(fd: int, packet_server: SimpleNamespace) -> None:
        def on_readable() -> None:
            before = len(handled)
            Server._on_readable(packet_server)
            frames_per_wakeup.append(len(handled) - before)

        loop = asyncio.get_running_loop()
        loop.add_reader(fd, on_readable)
        try:
            for _ in range(int(WAIT_SECONDS / 0.01)):
                if len(handled) >= len(burst):
                    break
                await asyncio.sleep(0.01)
        finally:
            loop.remove_reader(fd)

    with open_inside(server, open_packet_socket) as packet_sock, PacketRing(packet_sock) as ring:
        with open_inside(peers[0], lambda: raw_sender("eth0")) as sender:
            for frame in burst:
                sender.send(frame)
        packet_server = SimpleNamespace(packet_ring=ring, handle_frame=lambda data, *_: handled.append(data),
                                        _commit_queued=lambda: None, packet_log=SimpleNamespace(flush=lambda: None))
        asyncio.run(serve_until_all_handled(packet_sock.fileno(), packet_server))
        still_readable = select.select([packet_sock], [], [], 0)[0]

    assert handled == burst
    assert max(frames_per_wakeup) == FRAMES_PER_WAKEUP
    assert len(frames_per_wakeup) >= math.ceil(len(burst) / FRAMES_PER_WAKEUP)
    assert 0 not in frames_per_wakeup and not still_readable
