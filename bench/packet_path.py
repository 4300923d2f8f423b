"""CPU time per DORA through the server's packet path, without sockets: frame decode, engine, commit, encode.

`python -m bench.packet_path [--exchanges N] [--commit] [--profile FILE]` feeds prebuilt relayed DISCOVER and
REQUEST frames (as perfdhcp sends them) to a real `Server` on a temporary SQLite database, with a transmitter
that only encodes and counts. Without `--commit` leases are not written (the packet path alone); with it they
go through the group committer to SQLite (synchronous=FULL). It prints thread CPU microseconds per DORA, the
figure the bench compares with Kea's; `--profile` writes a cProfile of the run for `python -m pstats`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import tempfile
import time
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from dhcpd.config.parser import parse_text
from dhcpd.engine.types import Ingress
from dhcpd.leases.store import LeaseStore
from dhcpd.server import Server, Settings
from dhcpd.wire.codec import encode
from dhcpd.wire.frame import build_frame
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
INGRESS = Ingress("s0", 2, (IPv4Interface("10.99.0.1/16"),), source_mac=RELAY_MAC, source_ip=RELAY)


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


def relayed_frame(kind: MessageType, xid: int, mac: bytes, options: dict[int, bytes]) -> bytes:
    message = DhcpMessage(xid=xid, hops=1, giaddr=RELAY, chaddr=mac,
                          options={53: bytes([kind]), **options, 55: bytes([1, 3, 6, 15, 51, 54])})
    return build_frame(src_mac=RELAY_MAC, dst_mac=bytes(6), src_ip=RELAY, dst_ip=SERVER, src_port=67, dst_port=67,
                       payload=encode(message))


async def exchange_all(server: Server, count: int) -> float:
    """Run `count` DORAs; returns the thread CPU seconds they took."""
    macs = [(0x0C0000000000 + n).to_bytes(6, "big") for n in range(count)]
    discovers = [relayed_frame(MessageType.DISCOVER, n, mac, {}) for n, mac in enumerate(macs)]
    started = time.thread_time()
    for data in discovers:
        frame, message = server._decode(data, "s0")
        server.handle_message(message, INGRESS)
    offered = server.engine.leases
    requests = []
    for n, mac in enumerate(macs):
        address = next(lease.ip for lease in offered.client_leases(None, mac))
        requests.append(relayed_frame(MessageType.REQUEST, n, mac, {50: address.packed, 54: SERVER.packed}))
    spent = time.thread_time() - started
    started = time.thread_time()
    for data in requests:
        frame, message = server._decode(data, "s0")
        server.handle_message(message, INGRESS)
    await server.drain()
    return spent + time.thread_time() - started


async def measure(count: int, commit: bool, profile: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'leases.sqlite'}"
        store = LeaseStore(url)
        store.upgrade()
        server = Server(Settings("bench.conf", url, rate_limit_mac=None, log_writer=lambda lines: None),
                        parse_text(CONFIG, "bench.conf"), store)
        server.transmitter = CountingTransmitter()
        if commit:
            from dhcpd.leases.group_commit import GroupCommitter

            server.committer = GroupCommitter(store)
            server.committer.start()
        else:
            server.committer = NoCommit()
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        spent = await exchange_all(server, count)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        if commit:
            await server.committer.stop()
        store.close()
    print(f"{count} DORA, commit={'yes' if commit else 'no'}: {spent / count * 1e6:.1f} µs CPU per DORA "
          f"(main thread), {server.transmitter.sent} replies")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.packet_path", description=__doc__.split("\n\n")[0])
    parser.add_argument("--exchanges", type=int, default=20000)
    parser.add_argument("--commit", action="store_true", help="write leases through the group committer")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the run")
    args = parser.parse_args()
    asyncio.run(measure(args.exchanges, args.commit, args.profile))


if __name__ == "__main__":
    main()
