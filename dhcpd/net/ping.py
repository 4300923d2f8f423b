"""ICMP echo for `ping-check`: is anything already using an address we are about to offer?

One raw ICMP socket for the whole server, read from the event loop. Each probe sends one echo request with
the server's identifier and its own sequence number and waits up to its timeout for the matching reply.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import struct
from ipaddress import IPv4Address

ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
PAYLOAD = b"dhcpd ping-check"


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(identifier: int, sequence: int) -> bytes:
    header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, identifier, sequence)
    return struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, checksum(header + PAYLOAD), identifier, sequence) + PAYLOAD


def parse_echo_reply(packet: bytes) -> tuple[IPv4Address, int, int] | None:
    """(source, identifier, sequence) of an IPv4 packet holding an ICMP echo reply, else None."""
    if len(packet) < 20:
        return None
    header_length = (packet[0] & 0x0F) * 4
    icmp = packet[header_length:header_length + 8]
    if len(icmp) < 8 or icmp[0] != ICMP_ECHO_REPLY:
        return None
    identifier, sequence = struct.unpack("!HH", icmp[4:8])
    return IPv4Address(packet[12:16]), identifier, sequence


class Pinger:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.setblocking(False)
        self.identifier = os.getpid() & 0xFFFF
        self._sequences = itertools.count(1)
        self._waiting: dict[tuple[IPv4Address, int], asyncio.Future[bool]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self.sock.fileno(), self._on_readable)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()

    async def answered(self, address: IPv4Address, timeout: float) -> bool:
        """True when `address` answers an echo request within `timeout` seconds."""
        sequence = next(self._sequences) & 0xFFFF
        key = (address, sequence)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        try:
            self.sock.sendto(echo_request(self.identifier, sequence), (str(address), 0))
            return await asyncio.wait_for(future, timeout)
        except (asyncio.TimeoutError, OSError):  # no route or no answer: nothing is using it that we can see
            return False
        finally:
            self._waiting.pop(key, None)

    def _on_readable(self) -> None:
        while True:
            try:
                packet = self.sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            reply = parse_echo_reply(packet)
            if reply is None or reply[1] != self.identifier:
                continue
            future = self._waiting.get((reply[0], reply[2]))
            if future is not None and not future.done():
                future.set_result(True)
