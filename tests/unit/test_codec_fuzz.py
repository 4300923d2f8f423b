"""Property tests for the codec: any input decodes or raises MalformedPacket; encoded messages round trip."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dhcpd.wire.codec import MalformedPacket, decode, encode
from dhcpd.wire.message import DhcpMessage

pytestmark = pytest.mark.unit

RANDOM_INPUTS = settings(max_examples=1500, deadline=None)
SHAPED_INPUTS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COOKIE = bytes([99, 130, 83, 99])


def decodes_or_is_malformed(payload: bytes) -> None:
    try:
        message = decode(payload)
    except MalformedPacket as error:
        assert error.reason
    else:
        assert isinstance(message, DhcpMessage)


@st.composite
def plausible_packets(draw) -> bytes:
    """A fixed header, often the magic cookie, then option-shaped bytes that may well be inconsistent."""
    header = bytearray(draw(st.binary(min_size=236, max_size=236)))
    header[0] = draw(st.sampled_from([1, 2, header[0]]))
    header[2] = draw(st.integers(0, 20))
    if draw(st.booleans()):
        header[108:236] = draw(st.binary(max_size=128)).ljust(128, b"\0")
    cookie = draw(st.sampled_from([COOKIE, COOKIE, bytes(4), b""]))
    options = bytes([52, 1, draw(st.integers(0, 4))]) if draw(st.booleans()) else b""
    for code, value in draw(st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=20)), max_size=12)):
        length = draw(st.sampled_from([len(value), len(value), draw(st.integers(0, 255))]))
        options += bytes([code, length]) + value
    return bytes(header) + cookie + options


@st.composite
def mutations(draw) -> bytes:
    """A valid encoded message with some bytes overwritten, then maybe cut short."""
    payload = bytearray(encode(draw(messages()), max_size=65535))
    for _ in range(draw(st.integers(1, 6))):
        payload[draw(st.integers(0, len(payload) - 1))] = draw(st.integers(0, 255))
    return bytes(payload[: draw(st.integers(0, len(payload)))] if draw(st.booleans()) else payload)


option_codes = st.integers(1, 254).filter(lambda code: code != 52)
names = st.binary(max_size=64).map(lambda name: name.replace(b"\0", b""))


@st.composite
def messages(draw) -> DhcpMessage:
    hlen = draw(st.integers(0, 16))
    address = st.integers(0, 2**32 - 1).map(IPv4Address)
    return DhcpMessage(
        op=draw(st.sampled_from([1, 2])),
        htype=draw(st.integers(0, 255)),
        hlen=hlen,
        hops=draw(st.integers(0, 255)),
        xid=draw(st.integers(0, 2**32 - 1)),
        secs=draw(st.integers(0, 65535)),
        flags=draw(st.integers(0, 65535)),
        ciaddr=draw(address),
        yiaddr=draw(address),
        siaddr=draw(address),
        giaddr=draw(address),
        chaddr=draw(st.binary(min_size=hlen, max_size=hlen)),
        sname=draw(names),
        file=draw(names.map(lambda name: name * 2)),
        options=draw(st.dictionaries(option_codes, st.binary(max_size=300), max_size=8)),
    )


@RANDOM_INPUTS
@given(st.binary(max_size=700))
def test_random_bytes_decode_or_raise_malformed(payload):
    decodes_or_is_malformed(payload)


@SHAPED_INPUTS
@given(plausible_packets())
def test_plausible_packets_decode_or_raise_malformed(payload):
    decodes_or_is_malformed(payload)


@SHAPED_INPUTS
@given(mutations())
def test_mutated_valid_packets_decode_or_raise_malformed(payload):
    decodes_or_is_malformed(payload)


@SHAPED_INPUTS
@given(messages())
def test_encode_then_decode_gives_the_message_back(message):
    decoded = decode(encode(message, max_size=65535))
    assert decoded == message
    first = [code for code in (53, 54) if code in message.options]
    assert list(decoded.options) == first + [code for code in message.options if code not in first]


@SHAPED_INPUTS
@given(messages(), st.integers(0, 1500))
def test_encoded_size_stays_within_limits(message, max_size):
    message.options = {code: value for code, value in message.options.items() if code not in (53, 54, 1, 51, 82)}
    payload = encode(message, max_size=max_size)
    assert 300 <= len(payload) <= max(max_size, 548)
