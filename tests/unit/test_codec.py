"""Unit tests for the DHCP message codec: layout, overload, RFC 3396, truncation, size rules, option 82."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import pytest

from dhcpd.wire.codec import (
    MIN_BOOTP_SIZE,
    MIN_MESSAGE_SIZE,
    MalformedPacket,
    MessageTooLarge,
    decode,
    encode,
    option82_suboptions,
    prepared_options,
    reply_size_limit,
)
from dhcpd.wire.addresses import address_value
from dhcpd.wire.message import BOOTREPLY, BOOTREQUEST, DhcpMessage, MessageType

pytestmark = pytest.mark.unit

MAC = bytes.fromhex("525400a1b2c3")
COOKIE = bytes([99, 130, 83, 99])
PARAMETER_REQUEST_LIST = bytes([1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42])


def fixed_header(
    *, op=1, htype=1, hlen=6, xid=0x5A1F00D3, flags=0, ciaddr=0, yiaddr=0, giaddr=0, chaddr=MAC, sname=b"", file=b""
) -> bytes:
    """The 236-byte fixed part laid out field by field as in RFC 2131 figure 1, independent of the codec."""
    return (
        bytes([op, htype, hlen, 0])
        + struct.pack(">I", xid)
        + struct.pack(">HH", 0, flags)
        + struct.pack(">IIII", ciaddr, yiaddr, 0, giaddr)
        + chaddr.ljust(16, b"\0")
        + sname.ljust(64, b"\0")
        + file.ljust(128, b"\0")
    )


def tlv(code: int, value: bytes) -> bytes:
    return bytes([code, len(value)]) + value


def dhclient_discover() -> bytes:
    """What isc-dhcp-client 4.4 broadcasts first: type, requested address, hostname, parameter list."""
    options = (
        tlv(53, b"\x01")
        + tlv(50, bytes([192, 168, 10, 57]))
        + tlv(12, b"laptop")
        + tlv(55, PARAMETER_REQUEST_LIST)
        + b"\xff"
    )
    return (fixed_header() + COOKIE + options).ljust(300, b"\0")


def ack(**options: bytes) -> DhcpMessage:
    return DhcpMessage(
        op=BOOTREPLY,
        xid=0x5A1F00D3,
        yiaddr=IPv4Address("192.168.10.57"),
        siaddr=IPv4Address("192.168.10.1"),
        chaddr=MAC,
        options={
            53: b"\x05",
            54: bytes([192, 168, 10, 1]),
            51: (3600).to_bytes(4, "big"),
            1: bytes([255, 255, 255, 0]),
            3: bytes([192, 168, 10, 1]),
            **{int(code.removeprefix("o")): value for code, value in options.items()},
        },
    )


def encoded_option_codes(payload: bytes) -> list[int]:
    """The option codes of an encoded payload in wire order, walked without the codec's decoder."""
    codes, i = [], 240
    while payload[i] != 255:
        codes.append(payload[i])
        i += 2 + payload[i + 1]
    return codes


def test_dhclient_discover_decodes_every_field():
    message = decode(dhclient_discover())
    assert message.op == BOOTREQUEST
    assert (message.htype, message.hlen, message.hops) == (1, 6, 0)
    assert message.xid == 0x5A1F00D3
    assert message.chaddr == MAC
    assert message.ciaddr == message.giaddr == IPv4Address(0)
    assert (message.sname, message.file) == (b"", b"")
    assert message.message_type is MessageType.DISCOVER
    assert list(message.options.items()) == [
        (53, b"\x01"),
        (50, bytes([192, 168, 10, 57])),
        (12, b"laptop"),
        (55, PARAMETER_REQUEST_LIST),
    ]


def test_chaddr_keeps_only_hlen_bytes():
    payload = fixed_header(htype=32, hlen=0, chaddr=MAC) + COOKIE + b"\xff"
    assert decode(payload).chaddr == b""


def test_ack_round_trips_with_type_and_server_id_first():
    message = ack()
    message.options = {1: b"\xff\xff\xff\0", 54: b"\xc0\xa8\x0a\x01", 15: b"example.net", 53: b"\x05", 51: b"\0\0\x0e\x10"}
    payload = encode(message)
    assert encoded_option_codes(payload) == [53, 54, 1, 15, 51]
    decoded = decode(payload)
    assert list(decoded.options) == [53, 54, 1, 15, 51]
    assert decoded.options == message.options
    assert (decoded.op, decoded.xid, decoded.yiaddr, decoded.siaddr, decoded.chaddr) == (
        message.op,
        message.xid,
        message.yiaddr,
        message.siaddr,
        message.chaddr,
    )


def test_sname_and_file_are_nul_padded_and_cut():
    message = ack()
    message.sname, message.file = b"s" * 70, b"boot/pxelinux.0"
    payload = encode(message)
    assert payload[44:108] == b"s" * 64
    assert payload[108:236] == b"boot/pxelinux.0".ljust(128, b"\0")
    assert (decode(payload).sname, decode(payload).file) == (b"s" * 64, b"boot/pxelinux.0")


def test_short_reply_is_padded_to_bootp_minimum():
    payload = encode(DhcpMessage(op=BOOTREPLY, chaddr=MAC, options={53: b"\x06"}))
    assert len(payload) == MIN_BOOTP_SIZE
    assert payload[240:244] == b"\x35\x01\x06\xff"
    assert payload[244:] == bytes(MIN_BOOTP_SIZE - 244)


def test_overload_reads_file_then_sname():
    file_options = tlv(15, b"from-file") + tlv(66, b"tftp") + b"\xff"
    sname_options = tlv(15, b"+sname") + b"\xff"
    payload = fixed_header(sname=sname_options, file=file_options) + COOKIE + tlv(53, b"\x01") + tlv(52, b"\x03") + b"\xff"
    message = decode(payload)
    assert list(message.options.items()) == [(53, b"\x01"), (15, b"from-file+sname"), (66, b"tftp")]
    assert (message.sname, message.file) == (b"", b"")


def test_overload_of_file_only_keeps_sname_as_a_name():
    payload = fixed_header(sname=b"server1", file=tlv(67, b"pxelinux.0") + b"\xff") + COOKIE + tlv(52, b"\x01") + b"\xff"
    message = decode(payload)
    assert message.options == {67: b"pxelinux.0"}
    assert (message.sname, message.file) == (b"server1", b"")


@pytest.mark.parametrize("value", [b"\x00", b"\x04", b"\x01\x02", b""])
def test_bad_overload_value_is_rejected(value):
    payload = fixed_header() + COOKIE + tlv(52, value) + b"\xff"
    with pytest.raises(MalformedPacket) as caught:
        decode(payload)
    assert caught.value.reason == "bad-overload"


def test_option_overrunning_an_overloaded_field_is_rejected():
    payload = fixed_header(sname=b"\x0f\x7f" + b"x" * 62) + COOKIE + tlv(52, b"\x02") + b"\xff"
    with pytest.raises(MalformedPacket) as caught:
        decode(payload)
    assert caught.value.reason == "option-overrun"


def test_repeated_option_instances_are_concatenated():
    options = tlv(53, b"\x05") + tlv(121, b"\x18\x0a") + tlv(3, b"\x0a\x00\x00\x01") + tlv(121, b"\x01\x00\x0a\x00\x00\xfe") + b"\xff"
    message = decode(fixed_header(op=2) + COOKIE + options)
    assert list(message.options.items()) == [
        (53, b"\x05"),
        (121, b"\x18\x0a\x01\x00\x0a\x00\x00\xfe"),
        (3, b"\x0a\x00\x00\x01"),
    ]


def test_long_value_is_split_into_instances_and_rejoined():
    long_value = bytes(range(256)) * 2 + b"tail"
    payload = encode(ack(o43=long_value), max_size=1500)
    assert encoded_option_codes(payload) == [53, 54, 51, 1, 3, 43, 43, 43]
    assert decode(payload).options[43] == long_value


def test_options_after_end_are_ignored_and_pads_skipped():
    payload = fixed_header() + COOKIE + b"\0\0" + tlv(53, b"\x03") + b"\0" + b"\xff" + tlv(12, b"ignored")
    assert decode(payload).options == {53: b"\x03"}


def test_missing_end_option_is_accepted_at_buffer_end():
    payload = fixed_header() + COOKIE + tlv(53, b"\x01")
    assert decode(payload).options == {53: b"\x01"}


@pytest.mark.parametrize(
    ("length", "reason"),
    [(0, "short"), (100, "short"), (235, "short"), (237, "short"), (239, "short"), (246, "option-overrun"), (248, "option-overrun")],
)
def test_truncated_discover_is_rejected_with_reason(length, reason):
    with pytest.raises(MalformedPacket) as caught:
        decode(dhclient_discover()[:length])
    assert caught.value.reason == reason


def test_truncation_at_an_option_boundary_keeps_the_complete_options():
    assert decode(dhclient_discover()[:249]).options == {53: b"\x01", 50: bytes([192, 168, 10, 57])}


def test_bootp_without_cookie_has_no_options():
    header = fixed_header(sname=b"bootserver", file=b"vmunix")
    for payload in (header, header + bytes(64)):
        message = decode(payload)
        assert message.options == {}
        assert (message.sname, message.file) == (b"bootserver", b"vmunix")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (fixed_header() + b"\x63\x82\x53\x64" + b"\xff", "bad-magic"),
        (fixed_header(hlen=17) + COOKIE + b"\xff", "bad-hlen"),
        (fixed_header(op=3) + COOKIE + b"\xff", "bad-op"),
        (fixed_header(op=0) + COOKIE + b"\xff", "bad-op"),
    ],
)
def test_malformed_header_is_rejected_with_reason(payload, reason):
    with pytest.raises(MalformedPacket) as caught:
        decode(payload)
    assert caught.value.reason == reason


def test_decode_accepts_bytearray_and_memoryview():
    payload = dhclient_discover()
    assert decode(bytearray(payload)) == decode(memoryview(payload)) == decode(payload)


def test_options_that_do_not_fit_are_dropped_from_the_end():
    message = ack(o82=tlv(1, b"eth0/1/7"), o15=b"d" * 120, o119=b"s" * 120, o43=b"v" * 120)
    payload = encode(message, max_size=MIN_MESSAGE_SIZE)
    assert len(payload) <= MIN_MESSAGE_SIZE
    assert encoded_option_codes(payload) == [53, 54, 51, 1, 3, 82, 15, 119]
    assert encode(message, max_size=1000) == encode(message, max_size=1500)
    assert encoded_option_codes(encode(message, max_size=1000))[-1] == 43


def test_undroppable_options_survive_even_at_the_end():
    message = DhcpMessage(
        op=BOOTREPLY,
        chaddr=MAC,
        options={53: b"\x05", 15: b"d" * 200, 119: b"s" * 200, 1: b"\xff\xff\xff\0", 51: b"\0\0\x0e\x10", 82: tlv(2, b"r" * 40)},
    )
    payload = encode(message)
    assert len(payload) <= MIN_MESSAGE_SIZE
    assert encoded_option_codes(payload) == [53, 15, 1, 51, 82]


def test_a_long_option_is_dropped_whole_and_the_rest_padded_to_bootp_minimum():
    message = DhcpMessage(op=BOOTREPLY, chaddr=MAC, options={53: b"\x05", 43: b"v" * 400, 82: tlv(1, b"eth0")})
    payload = encode(message)
    assert encoded_option_codes(payload) == [53, 82]
    assert len(payload) == MIN_BOOTP_SIZE
    assert encode(message, max_size=1000).count(b"v" * 255) == 1


def test_max_size_is_never_taken_below_548():
    message = ack(o15=b"d" * 250, o119=b"s" * 250)
    assert encode(message, max_size=300) == encode(message, max_size=MIN_MESSAGE_SIZE)


def test_undroppable_options_that_cannot_fit_raise():
    with pytest.raises(MessageTooLarge):
        encode(ack(o82=b"r" * 400))


@pytest.mark.parametrize("code", [0, 52, 255])
def test_unencodable_option_codes_raise(code):
    with pytest.raises(ValueError, match=f"option {code}"):
        encode(ack(**{f"o{code}": b"\x01"}))


@pytest.mark.parametrize(
    ("option57", "limit"),
    [(None, 548), ((1500).to_bytes(2, "big"), 1472), ((576).to_bytes(2, "big"), 548), ((300).to_bytes(2, "big"), 548), (b"\x05", 548)],
)
def test_reply_size_limit_follows_option_57(option57, limit):
    request = DhcpMessage(options={} if option57 is None else {57: option57})
    assert reply_size_limit(request) == limit


def test_option82_suboptions_are_split_and_repeats_joined():
    value = tlv(1, b"ge-0/0/1.105") + tlv(2, b"\x00\x11\x22") + tlv(1, b":7") + tlv(9, b"")
    assert option82_suboptions(value) == {1: b"ge-0/0/1.105:7", 2: b"\x00\x11\x22", 9: b""}
    assert option82_suboptions(b"") == {}


@pytest.mark.parametrize("value", [b"\x01", b"\x01\x05abc", tlv(1, b"ok") + b"\x02\x01"])
def test_malformed_option82_is_rejected(value):
    with pytest.raises(MalformedPacket) as caught:
        option82_suboptions(value)
    assert caught.value.reason == "option82-overrun"


@pytest.mark.parametrize("text", ["0.0.0.0", "10.99.1.7", "255.255.255.255"])
def test_address_value_is_what_int_gives(text):
    assert address_value(IPv4Address(text)) == int(IPv4Address(text))


SHARED_OPTIONS = {53: b"\x05", 54: bytes([10, 0, 0, 1]), 51: bytes(4), 1: bytes([255, 255, 255, 0]),
                  6: bytes(range(200)), 119: bytes(300)}


@pytest.mark.parametrize("added", [{}, {12: b"host"}, {82: bytes([1, 2]) + b"ab"}, {12: b"h", 82: bytes(100)}])
@pytest.mark.parametrize("max_size", [MIN_MESSAGE_SIZE, 1500])
def test_prepared_options_encode_as_the_options_themselves(added, max_size):
    """A reply made from prepared options (and options added after them) has the bytes of one encoded whole."""
    options = {**SHARED_OPTIONS, **added}
    prepared = DhcpMessage(op=BOOTREPLY, xid=7, chaddr=MAC, options=options,
                           encoded_options=prepared_options(SHARED_OPTIONS))
    whole = DhcpMessage(op=BOOTREPLY, xid=7, chaddr=MAC, options=dict(options))
    assert prepared == whole   # not compared: only a faster way to the same bytes
    assert encode(prepared, max_size=max_size) == encode(whole, max_size=max_size)
