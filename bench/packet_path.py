"""CPU time per DORA through the server's packet path, without sockets: frame decode, engine, commit, encode.

`python -m bench.packet_path [--exchanges N] [--commit] [--whole-path [--per-turn K]] [--profile FILE]` feeds
prebuilt relayed DISCOVER and REQUEST frames (as perfdhcp sends them) to a real `Server` on a temporary SQLite
database. Without `--commit` leases are not written (the packet path alone); with it they go through the group
committer to SQLite (synchronous=FULL). It prints thread CPU microseconds per DORA, the figure the bench
compares with Kea's; `--profile` writes a cProfile of the run for `python -m pstats`.

By default each frame is decoded and handed to `Server.handle_message`, and a transmitter stand-in only counts
the replies (no rate limits, no packet log). With `--whole-path` the figure covers everything the running
server does per packet but the kernel's part: the frames are written, K per event-loop turn (default 1, as at
a few thousand DORA/s), into a memory file laid out as the kernel's receive ring, which the real `PacketRing`
maps and reads; the loop (uvloop, as in the server) calls `Server._on_readable` for them (its own epoll wake-up
included, with the timers of the server's background tasks in the loop), which resolves the served link,
applies the default rate limits and commits the leases decided (at most every COMMIT_INTERVAL when commits come
back to back, as in the server), and the packet log is written in batches (isc's lines, to /dev/null as under
`-d`); the real `Transmitter` sends each reply through a socket stand-in
whose `sendto` goes nowhere. The bench's own work of writing frames into the ring (a copy each) is counted too.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import mmap
import os
import struct
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import uvloop

from dhcpd.config.parser import parse_text
from dhcpd.engine.types import Ingress
from dhcpd.gc_pause import settle_for_serving, settle_while_serving
from dhcpd.leases.store import LeaseStore
from dhcpd.links import ServedLinks
from dhcpd.net.interfaces import Link
from dhcpd.net.rawsock import (PACKET_HOST, RING_BYTES, RING_FRAME_BYTES, RING_FRAMES, TP_STATUS_CSUMNOTREADY,
                               TP_STATUS_USER, PacketRing)
from dhcpd.net.transmit import Transmitter
from dhcpd.packetlog import stderr_writer
from dhcpd.server import Server, Settings
from dhcpd.wire.codec import decode, encode
from dhcpd.wire.frame import build_frame, udp_payload
from dhcpd.wire.message import DhcpMessage, MessageType

CONFIG = """authoritative;
default-lease-time 600;
subnet 10.99.0.0 netmask 255.255.0.0 {
  range 10.99.1.0 10.99.250.255;
  option routers 10.99.0.1;
  option domain-name-servers 10.99.0.1;
}
"""
SERVER = IPv4Address("10.99.0.1")
RELAY = IPv4Address("10.99.0.2")
RELAY_MAC = bytes.fromhex("020000000002")
SERVER_LINK = Link(index=2, name="s0", kind="veth", mac=bytes.fromhex("020000000001"), up=True, master=None,
                   lower=None, vlan_id=None, addresses=(IPv4Interface("10.99.0.1/16"),))
INGRESS = Ingress(SERVER_LINK.name, SERVER_LINK.index, SERVER_LINK.addresses)
# Where the kernel puts the frame in a TPACKET_V2 slot: the Ethernet header ends at
# TPACKET_ALIGN(TPACKET2_HDRLEN + 16) = 80.
RING_MAC_OFFSET = 66
# The slot header as the kernel writes it: status, len, snaplen, mac, then the sockaddr_ll's ifindex and pkttype
# (the layout `PacketRing` reads).
RING_SLOT_HEADER = struct.Struct("=IIIH22xi2xB")
RECEIVED_ON_VETH = TP_STATUS_USER | TP_STATUS_CSUMNOTREADY   # as perfdhcp's frames arrive across the bench's veth

FrameHandler = Callable[[Sequence[bytes]], Awaitable[None]]


class CountingTransmitter:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, payload, destination, ingress, server_ip) -> None:
        self.sent += 1


class NoCommit:
    def commit_now(self, leases):
        return frozenset()

    async def persist(self, leases):
        return set()


class SendingNowhere:
    """A socket stand-in for the real `Transmitter`: `sendto` takes the datagram and sends nothing."""

    def sendto(self, data: bytes, address: object) -> int:
        return len(data)


class OneLinkTable:
    """An `InterfaceTable` stand-in holding the one served link."""

    def __init__(self, link: Link) -> None:
        self.link = link

    def by_index(self, index: int) -> Link | None:
        return self.link if index == self.link.index else None

    served_link = by_index


class MemoryRing:
    """A memory file laid out as the packet socket's receive ring; `fileno` lets `PacketRing` map it as it maps
    the socket's. `put` fills the next slot as the kernel does when a frame arrives."""

    def __init__(self) -> None:
        self._fd = os.memfd_create("bench-packet-ring")
        os.ftruncate(self._fd, RING_BYTES)
        self._memory = mmap.mmap(self._fd, RING_BYTES)
        self._slot = 0

    def fileno(self) -> int:
        return self._fd

    def put(self, frame: bytes, ifindex: int) -> None:
        offset = self._slot * RING_FRAME_BYTES
        start = offset + RING_MAC_OFFSET
        self._memory[start:start + len(frame)] = frame
        RING_SLOT_HEADER.pack_into(self._memory, offset, RECEIVED_ON_VETH, len(frame), len(frame), RING_MAC_OFFSET,
                                   ifindex, PACKET_HOST)
        self._slot = (self._slot + 1) % RING_FRAMES

    def close(self) -> None:
        self._memory.close()
        os.close(self._fd)


def relayed_frame(kind: MessageType, xid: int, mac: bytes, options: dict[int, bytes]) -> bytes:
    message = DhcpMessage(xid=xid, hops=1, giaddr=RELAY, chaddr=mac,
                          options={53: bytes([kind]), **options, 55: bytes([1, 3, 6, 15, 51, 54])})
    return build_frame(src_mac=RELAY_MAC, dst_mac=bytes(6), src_ip=RELAY, dst_ip=SERVER, src_port=67, dst_port=67,
                       payload=encode(message))


def handled_directly(server: Server) -> FrameHandler:
    """Each frame decoded and given to `handle_message`, then what is queued committed and sent."""
    async def handle(frames: Sequence[bytes]) -> None:
        for data in frames:
            server.handle_message(decode(udp_payload(data)), INGRESS)
        await server.drain()

    return handle


def handled_in_loop_turns(server: Server, ring: MemoryRing, per_turn: int) -> FrameHandler:
    """`per_turn` frames put in the ring per event-loop turn, each turn woken by epoll and handled by the
    server's own reader, `_on_readable`."""
    async def handle(frames: Sequence[bytes]) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        waiting = iter(frames)
        wakeup = os.eventfd(1)   # never read, so readable at every turn, as the packet socket under load

        def turn() -> None:
            batch = list(itertools.islice(waiting, per_turn))
            if not batch:
                loop.remove_reader(wakeup)
                done.set_result(None)
                return
            for frame in batch:
                ring.put(frame, SERVER_LINK.index)
            server._on_readable()

        loop.add_reader(wakeup, turn)
        try:
            await done
            await server.drain()
        finally:
            os.close(wakeup)

    return handle


async def exchange_all(server: Server, count: int, handle: FrameHandler) -> float:
    """Run `count` DORAs through `handle`; returns the thread CPU seconds they took."""
    macs = [(0x0C0000000000 + n).to_bytes(6, "big") for n in range(count)]
    discovers = [relayed_frame(MessageType.DISCOVER, n, mac, {}) for n, mac in enumerate(macs)]
    started = time.thread_time()
    await handle(discovers)
    spent = time.thread_time() - started
    offered = server.engine.leases
    requests = []
    for n, mac in enumerate(macs):
        address = next(lease.ip for lease in offered.client_leases(None, mac))
        requests.append(relayed_frame(MessageType.REQUEST, n, mac, {50: address.packed, 54: SERVER.packed}))
    started = time.thread_time()
    await handle(requests)
    return spent + time.thread_time() - started


async def measure(count: int, commit: bool, whole_path: bool, per_turn: int, profile: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder, open(os.devnull, "w") as log_sink:
        url = f"sqlite:///{Path(folder) / 'leases.sqlite'}"
        store = LeaseStore(url)
        store.upgrade()
        config = parse_text(CONFIG, "bench.conf")
        if whole_path:  # as the running server: default rate limits, isc's log lines as under -d
            server = Server(Settings("bench.conf", url, log_writer=stderr_writer(log_sink)), config, store)
            server.table = OneLinkTable(SERVER_LINK)
            server.served = ServedLinks(server.table, server.engine.subnets)
            ring = MemoryRing()
            server.packet_ring = PacketRing(ring, server.stats.drops)
            server.transmitter = Transmitter(SendingNowhere(), SendingNowhere(), server.table)
            handle = handled_in_loop_turns(server, ring, per_turn)
            settle_for_serving()
        else:
            server = Server(Settings("bench.conf", url, rate_limit_mac=None, log_writer=lambda lines: None),
                            config, store)
            server.transmitter = CountingTransmitter()
            handle = handled_directly(server)
        if commit:
            from dhcpd.leases.group_commit import GroupCommitter

            server.committer = GroupCommitter(store)
            server.committer.start()
        else:
            server.committer = NoCommit()
        # The running server's background tasks: their timers are in the loop at every turn.
        background = ([asyncio.create_task(server._reclaim_forever()), asyncio.create_task(settle_while_serving())]
                      if whole_path else [])
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        spent = await exchange_all(server, count, handle)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        for task in background:
            task.cancel()
        server.packet_log.flush()
        if commit:
            await server.committer.stop()
        if whole_path:
            server.packet_ring.close()
            ring.close()
        store.close()
    replies = sum(server.stats.sent.values())
    path = f"whole path, {per_turn} frame(s) per loop turn" if whole_path else "handle_message"
    print(f"{count} DORA, commit={'yes' if commit else 'no'}, {path}: {spent / count * 1e6:.1f} µs CPU per DORA "
          f"(main thread), {replies} replies")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.packet_path", description=__doc__.split("\n\n")[0])
    parser.add_argument("--exchanges", type=int, default=20000)
    parser.add_argument("--commit", action="store_true", help="write leases through the group committer")
    parser.add_argument("--whole-path", action="store_true",
                        help="through the receive ring, the loop's reader, rate limits, the real transmitter and "
                             "the packet log (to /dev/null)")
    parser.add_argument("--per-turn", type=int, default=1, metavar="K",
                        help="frames per event-loop turn with --whole-path (default 1)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the run")
    args = parser.parse_args()
    if args.per_turn < 1:
        parser.error("--per-turn must be at least 1")
    uvloop.run(measure(args.exchanges, args.commit, args.whole_path, args.per_turn, args.profile))


if __name__ == "__main__":
    main()
