"""Ethernet/802.1Q/IPv4/UDP framing: round trips, checksums against a word-by-word reference, every rejection."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import dpkt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dhcpd.wire.frame import BadFrame, Frame, build_frame, decode_frame

pytestmark = pytest.mark.unit

SERVER_MAC = bytes.fromhex("020000000001")
CLIENT_MAC = bytes.fromhex("020000000002")
BROADCAST_MAC = b"\xff" * 6
SERVER_IP = IPv4Address("192.0.2.1")
BROADCAST_IP = IPv4Address("255.255.255.255")


def reference_checksum(data: bytes) -> int:
    """RFC 1071 the slow obvious way: 16-bit words, end-around carry, complement."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def reply(payload: bytes = b"\x02\x01\x06\x00" + bytes(296), vlans: tuple[int, ...] = (), **overrides) -> bytes:
    fields = dict(src_mac=SERVER_MAC, dst_mac=BROADCAST_MAC, src_ip=SERVER_IP, dst_ip=BROADCAST_IP,
                  src_port=67, dst_port=68, payload=payload, vlans=vlans)
    fields.update(overrides)
    return build_frame(**fields)


def ip_offset(frame: bytes) -> int:
    offset = 12
    while frame[offset:offset + 2] in (b"\x81\x00", b"\x88\xa8"):
        offset += 4
    return offset + 2


def with_ip_header_change(frame: bytes, position: int, value: bytes) -> bytes:
    """Patch bytes inside the IPv4 header and fix its checksum, so only the intended check trips."""
    start = ip_offset(frame)
    header = bytearray(frame[start:start + 20])
    header[position:position + len(value)] = value
    header[10:12] = b"\0\0"
    header[10:12] = reference_checksum(bytes(header)).to_bytes(2, "big")
    return frame[:start] + bytes(header) + frame[start + 20:]


def client_frame(udp_checksum: bool = True) -> bytes:
    """A DISCOVER-shaped frame assembled by dpkt, as a client would send it."""
    udp = dpkt.udp.UDP(sport=68, dport=67, ulen=308, data=b"\x01\x01\x06\x00" + bytes(296))
    ip = dpkt.ip.IP(src=bytes(4), dst=BROADCAST_IP.packed, p=dpkt.ip.IP_PROTO_UDP, ttl=64, data=udp)
    ip.len = 20 + len(bytes(udp))
    raw_ip = bytes(ip)
    if not udp_checksum:
        raw_ip = raw_ip[:26] + b"\0\0" + raw_ip[28:]
    return BROADCAST_MAC + CLIENT_MAC + b"\x08\x00" + raw_ip


class TestBuild:
    def test_untagged_reply_parses_with_dpkt_and_checksums_match_the_reference(self):
        frame = reply()
        eth = dpkt.ethernet.Ethernet(frame)
        assert eth.type == dpkt.ethernet.ETH_TYPE_IP
        ip = eth.data
        assert (ip.ttl, ip.df, ip.mf, ip.offset, ip.p) == (64, 0, 0, 0, dpkt.ip.IP_PROTO_UDP)
        assert reference_checksum(frame[14:34]) == 0
        pseudo = SERVER_IP.packed + BROADCAST_IP.packed + b"\x00\x11" + len(ip.data).to_bytes(2, "big")
        assert reference_checksum(pseudo + frame[34:]) == 0

    def test_one_tag_uses_8021q(self):
        frame = reply(vlans=(105,))
        assert frame[12:18] == b"\x81\x00\x00\x69\x08\x00"

    def test_two_tags_use_8021ad_outside_and_8021q_inside(self):
        frame = reply(vlans=(100, 200))
        assert frame[12:22] == b"\x88\xa8\x00\x64\x81\x00\x00\xc8\x08\x00"

    def test_three_tags_are_refused(self):
        with pytest.raises(ValueError):
            reply(vlans=(1, 2, 3))

    def test_udp_checksum_that_folds_to_zero_is_sent_as_all_ones(self):
        # Choose the last payload word so the ones' complement sum is all ones: the checksum would be 0.
        base = reply(payload=b"\0\0")
        needed = base[-4:-2]                       # checksum with a zero word equals the word that cancels it
        frame = reply(payload=needed)
        assert frame[-4:-2] == b"\xff\xff"
        assert decode_frame(frame).payload == needed

    @given(
        payload=st.binary(min_size=0, max_size=1400),
        vlans=st.lists(st.integers(1, 4094), max_size=2).map(tuple),
        src=st.integers(0, 2**32 - 1).map(IPv4Address),
        dst=st.integers(0, 2**32 - 1).map(IPv4Address),
        ports=st.tuples(st.integers(0, 65535), st.integers(0, 65535)),
    )
    def test_round_trip_and_reference_checksums(self, payload, vlans, src, dst, ports):
        frame = reply(payload=payload, vlans=vlans, src_ip=src, dst_ip=dst, src_port=ports[0], dst_port=ports[1])
        start = ip_offset(frame)
        assert reference_checksum(frame[start:start + 20]) == 0
        pseudo = src.packed + dst.packed + b"\x00\x11" + (8 + len(payload)).to_bytes(2, "big")
        assert reference_checksum(pseudo + frame[start + 20:]) == 0
        assert decode_frame(frame) == Frame(src_mac=SERVER_MAC, dst_mac=BROADCAST_MAC, vlans=vlans, src_ip=src,
                                            dst_ip=dst, src_port=ports[0], dst_port=ports[1], payload=payload)


class TestDecode:
    def test_client_frame_from_dpkt(self):
        frame = decode_frame(client_frame())
        assert (frame.src_mac, frame.src_ip, frame.dst_ip) == (CLIENT_MAC, IPv4Address(0), BROADCAST_IP)
        assert (frame.src_port, frame.dst_port, len(frame.payload)) == (68, 67, 300)

    def test_zero_udp_checksum_means_unchecked(self):
        assert decode_frame(client_frame(udp_checksum=False)).dst_port == 67

    def test_ethernet_padding_after_the_datagram_is_ignored(self):
        assert decode_frame(reply(payload=b"abc") + bytes(20)).payload == b"abc"

    def test_vlan_ids_drop_the_priority_bits(self):
        frame = reply(vlans=(7,))
        tagged_with_priority = frame[:14] + b"\xa0\x07" + frame[16:]
        assert decode_frame(tagged_with_priority).vlans == (7,)

    @pytest.mark.parametrize("reason, frame", [
        ("short", b""),
        ("short", reply()[:13]),
        ("short", reply(vlans=(5,))[:16]),
        ("short", reply()[:30]),
        ("not-ipv4", reply()[:12] + b"\x86\xdd" + reply()[14:]),
        ("too-many-tags", reply(vlans=(1, 2))[:20] + b"\x81\x00\x00\x03" + reply(vlans=(1, 2))[20:]),
        ("not-ipv4", with_ip_header_change(reply(), 0, b"\x65")),
        ("bad-ip-header-length", with_ip_header_change(reply(), 0, b"\x44")),
        ("bad-ip-length", with_ip_header_change(reply(), 2, b"\xff\xff")),
        ("bad-ip-length", with_ip_header_change(reply(), 2, b"\x00\x10")),
        ("bad-ip-checksum", reply()[:24] + b"\x00\x00" + reply()[26:]),
        ("fragment", with_ip_header_change(reply(), 6, b"\x20\x00")),
        ("fragment", with_ip_header_change(reply(), 6, b"\x00\x10")),
        ("not-udp", with_ip_header_change(reply(), 9, b"\x06")),
        ("short", with_ip_header_change(reply(payload=b""), 2, b"\x00\x18")[:38]),
        ("bad-udp-length", reply()[:38] + b"\x00\x04" + reply()[40:]),
        ("bad-udp-length", reply()[:38] + b"\xff\x00" + reply()[40:]),
        ("bad-udp-checksum", reply()[:-1] + b"\x01"),
    ])
    def test_rejections_name_their_reason(self, reason, frame):
        with pytest.raises(BadFrame) as caught:
            decode_frame(frame)
        assert caught.value.reason == reason

    @given(st.binary(max_size=400))
    def test_arbitrary_bytes_decode_or_raise_bad_frame(self, data):
        try:
            frame = decode_frame(data)
        except BadFrame as error:
            assert error.reason
        else:
            assert len(frame.payload) <= len(data)

    @given(
        payload=st.binary(max_size=64),
        changes=st.lists(st.tuples(st.integers(14, 41), st.integers(0, 255)), min_size=1, max_size=4),
        fix_ip_checksum=st.booleans(),
    )
    def test_usual_frames_meet_the_same_checks_as_tagged_ones(self, payload, changes, fix_ip_checksum):
        # An untagged frame with a 20-byte IPv4 header is read in one unpack, a tagged one layer by layer: the same
        # header bytes behind a tag must give the same payload or the same BadFrame.
        frame = bytearray(reply(payload=payload))
        for position, value in changes:
            frame[position] = value
        if fix_ip_checksum:
            frame = bytearray(with_ip_header_change(bytes(frame), 0, frame[14:15]))
        untagged = bytes(frame)
        tagged = untagged[:12] + b"\x81\x00\x00\x05" + untagged[12:]
        assert outcome(untagged) == outcome(tagged)


def outcome(frame: bytes) -> tuple[bytes, int, int, int, int] | str:
    """What decode_frame makes of a frame but its VLAN ids: the addresses, ports and payload, or the error."""
    try:
        decoded = decode_frame(frame)
    except BadFrame as error:
        return str(error)
    return decoded.src_ip, decoded.dst_ip, decoded.src_port, decoded.dst_port, decoded.payload
