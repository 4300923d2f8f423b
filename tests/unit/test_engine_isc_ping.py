"""The ICMP echo helpers behind `ping-check` (dhcpd.net.ping): request encoding, checksum, reply parsing."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import pytest

from dhcpd.net.ping import ICMP_ECHO_REPLY, checksum, echo_request, parse_echo_reply

pytestmark = pytest.mark.unit


def test_echo_request_checksums_to_zero_and_carries_identifier_and_sequence():
    packet = echo_request(0x1234, 7)
    assert packet[0] == 8 and checksum(packet) == 0
    assert struct.unpack("!HH", packet[4:8]) == (0x1234, 7)


def test_rfc1071_example_checksum():
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def ip_packet(source: str, icmp: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0, IPv4Address(source).packed,
                         IPv4Address("10.0.0.1").packed)
    return header + icmp


def test_echo_reply_is_parsed_with_its_source():
    reply = bytes([ICMP_ECHO_REPLY]) + echo_request(0x1234, 9)[1:]
    assert parse_echo_reply(ip_packet("10.0.0.9", reply)) == (IPv4Address("10.0.0.9"), 0x1234, 9)


@pytest.mark.parametrize("packet", [b"", b"\x45" * 19, ip_packet("10.0.0.9", echo_request(1, 1)),
                                    ip_packet("10.0.0.9", b"\x00\x00")])
def test_anything_but_an_echo_reply_is_ignored(packet):
    assert parse_echo_reply(packet) is None
