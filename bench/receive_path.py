"""CPU per received frame of the server's packet socket: recvmsg through ctypes against the PACKET_RX_RING.

`sudo .venv/bin/python -m bench.receive_path [--frames N] [--rounds R]` builds its own namespaces and veth
pair (bench.netns.Topology), opens in the server namespace the server's ring socket (`open_packet_socket` +
`PacketRing`) and, beside it, the socket as it was before the ring (filtered the same way, PACKET_AUXDATA,
16 MiB buffer), read with one recvmsg per frame by `receive_tagged`, the ctypes path trunk sockets still use
(for untagged frames it skips the checksum rule, so it is ~0.15 us cheaper than the server's former `receive`).
Each round a raw socket on the client side sends N DHCPDISCOVER-sized broadcasts to UDP/67; once the kernel
has queued all of them on both sockets, each is drained and the thread CPU time of the drain is taken. It
prints the median microseconds per frame of both ways over the rounds. The kernel's work of queueing
(softirq, during the sends) is in neither figure.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import socket
import statistics
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address

from bench.netns import Topology
from dhcpd.net.bpf import attach_filter
from dhcpd.net.rawsock import (DHCP_SERVER_FILTER, ETH_P_IP, PACKET_AUXDATA, SOL_PACKET, PacketRing,
                               open_packet_socket, receive_tagged)
from dhcpd.wire.codec import encode
from dhcpd.wire.frame import build_frame
from dhcpd.wire.message import DhcpMessage, MessageType

CLONE_NEWNET = 0x40000000
SO_RCVBUFFORCE = 33
RECEIVE_BUFFER_BYTES = 16 * 1024 * 1024
PACKET_STATISTICS = 6
QUEUE_WAIT_SECONDS = 10.0
BROADCAST_MAC = b"\xff" * 6

_libc = ctypes.CDLL(None, use_errno=True)


@contextmanager
def inside(namespace: str) -> Iterator[None]:
    """Run the block in network namespace `namespace` (this thread only), then come back."""
    with open("/proc/self/ns/net") as home, open(f"/run/netns/{namespace}") as target:
        _enter(target.fileno())
        try:
            yield
        finally:
            _enter(home.fileno())


def _enter(namespace_fd: int) -> None:
    if _libc.setns(namespace_fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def open_recvmsg_socket() -> socket.socket:
    """The packet socket as it was before the ring: same filter, auxdata for the checksum state, 16 MiB."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    attach_filter(sock, DHCP_SERVER_FILTER)
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER_BYTES)
    sock.setblocking(False)
    return sock


def discover_frames(count: int) -> list[bytes]:
    frames = []
    for number in range(count):
        mac = (0x0E0000000000 + number).to_bytes(6, "big")
        message = DhcpMessage(xid=number, chaddr=mac, options={53: bytes([MessageType.DISCOVER]),
                                                               55: bytes([1, 3, 6, 15, 51, 54])})
        frames.append(build_frame(src_mac=mac, dst_mac=BROADCAST_MAC, src_ip=IPv4Address("0.0.0.0"),
                                  dst_ip=IPv4Address("255.255.255.255"), src_port=68, dst_port=67,
                                  payload=encode(message)))
    return frames


def wait_until_queued(sockets: list[socket.socket], count: int) -> None:
    """Until each socket's kernel counters (PACKET_STATISTICS, reset by reading) show `count` frames."""
    seen = [0] * len(sockets)
    deadline = time.monotonic() + QUEUE_WAIT_SECONDS
    while min(seen) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {seen} of {count} frames queued")
        time.sleep(0.01)
        for index, sock in enumerate(sockets):
            packets, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
            if drops:
                raise RuntimeError(f"the kernel dropped {drops} frames: fewer frames per round")
            seen[index] += packets


def drain_seconds(receive_one: Callable[[], object], count: int) -> float:
    started = time.thread_time()
    received = 0
    while receive_one() is not None:
        received += 1
    spent = time.thread_time() - started
    if received != count:
        raise RuntimeError(f"drained {received} frames, {count} were sent")
    return spent


def measure(frame_count: int, rounds: int) -> dict[str, list[float]]:
    frames = discover_frames(frame_count)
    per_frame: dict[str, list[float]] = {"recvmsg": [], "ring": []}
    with Topology(1, tag=f"rx{os.getpid()}") as topology:
        link = topology.links[0]
        with inside(topology.server_namespace):
            ring_socket = open_packet_socket()
            recvmsg_socket = open_recvmsg_socket()
        with inside(link.peer_namespace):
            sender = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            sender.bind((link.peer_device, 0))
        with ring_socket, recvmsg_socket, sender, PacketRing(ring_socket) as ring:
            drains: dict[str, Callable[[], object]] = {"recvmsg": lambda: receive_tagged(recvmsg_socket),
                                                       "ring": ring.receive}
            for number in range(rounds):
                for frame in frames:
                    sender.send(frame)
                wait_until_queued([ring_socket, recvmsg_socket], frame_count)
                order = list(drains) if number % 2 == 0 else list(reversed(drains))
                for name in order:
                    per_frame[name].append(drain_seconds(drains[name], frame_count) / frame_count * 1e6)
    return per_frame


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.receive_path", description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=4000, help="frames queued per round")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    per_frame = measure(args.frames, args.rounds)
    for name, values in per_frame.items():
        print(f"{name:8} {statistics.median(values):5.2f} µs CPU per frame (median of {len(values)} rounds of "
              f"{args.frames}; min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
