"""CPU time of the wire layer alone: decoding a relayed request and encoding a typical reply.

`python -m bench.wire_path [--loops N] [--runs R]` times, in thread CPU microseconds per packet (median of R
runs), `decode_frame` + `decode` of a relayed DISCOVER and REQUEST as perfdhcp sends them (see
bench.packet_path), and `encode` + `build_frame` of an OFFER and an ACK carrying options 53, 54, 51, 58, 59,
1, 3, 6 and 82, as the engine builds them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from ipaddress import IPv4Address

from bench.packet_path import RELAY, RELAY_MAC, SERVER, relayed_frame
from dhcpd.wire.codec import decode, encode
from dhcpd.wire.frame import build_frame, decode_frame
from dhcpd.wire.message import BOOTREPLY, DhcpMessage, MessageType

CLIENT_MAC = bytes.fromhex("0c0000000001")
OFFERED = IPv4Address("10.99.1.7")
RELAY_AGENT_INFO = bytes.fromhex("0106") + b"eth0/1" + bytes.fromhex("0206") + CLIENT_MAC


def reply(kind: MessageType) -> DhcpMessage:
    return DhcpMessage(op=BOOTREPLY, xid=7, hops=1, yiaddr=OFFERED, giaddr=RELAY, chaddr=CLIENT_MAC, options={
        53: bytes([kind]), 54: SERVER.packed, 51: (600).to_bytes(4, "big"), 58: (300).to_bytes(4, "big"),
        59: (525).to_bytes(4, "big"), 1: bytes([255, 255, 0, 0]), 3: SERVER.packed, 6: SERVER.packed,
        82: RELAY_AGENT_INFO})


def received(data: bytes) -> Callable[[], object]:
    return lambda: decode(decode_frame(data).payload)


def sent(message: DhcpMessage) -> Callable[[], object]:
    return lambda: build_frame(src_mac=RELAY_MAC, dst_mac=b"\xff" * 6, src_ip=SERVER, dst_ip=OFFERED,
                               src_port=67, dst_port=68, payload=encode(message))


def cpu_microseconds(work: Callable[[], object], loops: int, runs: int) -> float:
    """The median over `runs` of the thread CPU time of one call of `work`."""
    timings = []
    for _ in range(runs):
        started = time.thread_time()
        for _ in range(loops):
            work()
        timings.append((time.thread_time() - started) / loops * 1e6)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.wire_path", description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cases = {
        "decode_frame+decode DISCOVER": received(relayed_frame(MessageType.DISCOVER, 7, CLIENT_MAC, {})),
        "decode_frame+decode REQUEST": received(relayed_frame(MessageType.REQUEST, 7, CLIENT_MAC,
                                                              {50: OFFERED.packed, 54: SERVER.packed})),
        "encode+build_frame OFFER": sent(reply(MessageType.OFFER)),
        "encode+build_frame ACK": sent(reply(MessageType.ACK)),
    }
    for name, work in cases.items():
        print(f"{name:30} {cpu_microseconds(work, args.loops, args.runs):6.2f} µs CPU")


if __name__ == "__main__":
    main()
