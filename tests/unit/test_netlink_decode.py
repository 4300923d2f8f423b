"""The struct decoder of route-netlink link and address messages, on messages built here byte by byte
(a VLAN device's message cannot be made by this host's kernel, which has no 802.1Q module)."""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Interface

import pytest

from dhcpd.net.interfaces import link_from_message
from dhcpd.net.netlink import (IFA_ADDRESS, IFA_LOCAL, IFLA_ADDRESS, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND,
                               IFLA_LINK, IFLA_LINKINFO, IFLA_MASTER, IFLA_VLAN_ID, NLMSG_DONE, NLMSG_ERROR,
                               RTM_DELLINK, RTM_NEWADDR, RTM_NEWLINK, AddressMessage, LinkMessage, NetlinkError,
                               decode_messages)

pytestmark = pytest.mark.unit

IFLA_MTU = 4
NLA_F_NESTED = 0x8000
IFF_UP = 0x1


def attribute(kind: int, value: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(value), kind) + value
    return raw + b"\0" * (-len(raw) % 4)


def message(kind: int, body: bytes) -> bytes:
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 1, 0) + body


def link_body(index: int, flags: int, *attributes: bytes) -> bytes:
    return struct.pack("=BxHiII", socket.AF_UNSPEC, 1, index, flags, 0) + b"".join(attributes)


def test_a_vlan_link_message_gives_name_mac_lower_master_kind_and_vlan_id():
    info = attribute(IFLA_LINKINFO | NLA_F_NESTED, attribute(IFLA_INFO_KIND, b"vlan\0")
                     + attribute(IFLA_INFO_DATA | NLA_F_NESTED, attribute(IFLA_VLAN_ID, struct.pack("=H", 105))))
    data = message(RTM_NEWLINK, link_body(7, IFF_UP, attribute(IFLA_IFNAME, b"bond0.105\0"),
                                          attribute(IFLA_MTU, struct.pack("=I", 1500)),
                                          attribute(IFLA_ADDRESS, bytes.fromhex("020000000105")),
                                          attribute(IFLA_LINK, struct.pack("=I", 3)),
                                          attribute(IFLA_MASTER, struct.pack("=I", 9)), info))
    [(kind, decoded)] = list(decode_messages(data))
    assert kind == RTM_NEWLINK and isinstance(decoded, LinkMessage)
    link = link_from_message(decoded)
    assert (link.index, link.name, link.kind, link.mac, link.up, link.lower, link.master, link.vlan_id) == \
        (7, "bond0.105", "vlan", bytes.fromhex("020000000105"), True, 3, 9, 105)


def test_a_link_without_kind_is_a_device_and_a_veth_peer_is_not_a_lower_link():
    veth_info = attribute(IFLA_LINKINFO, attribute(IFLA_INFO_KIND, b"veth\0"))
    data = (message(RTM_NEWLINK, link_body(2, 0, attribute(IFLA_IFNAME, b"eth0\0")))
            + message(RTM_DELLINK, link_body(4, 0, attribute(IFLA_IFNAME, b"v1\0"),
                                             attribute(IFLA_LINK, struct.pack("=I", 5)), veth_info)))
    (first_kind, first), (second_kind, second) = decode_messages(data)
    assert (first_kind, link_from_message(first).kind, link_from_message(first).up) == (RTM_NEWLINK, "device", False)
    assert second_kind == RTM_DELLINK and link_from_message(second).lower is None


def test_an_address_message_prefers_the_local_address():
    body = struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 6) + attribute(IFA_ADDRESS, bytes([10, 9, 0, 2])) \
        + attribute(IFA_LOCAL, bytes([10, 9, 0, 1]))
    [(kind, decoded)] = list(decode_messages(message(RTM_NEWADDR, body)))
    assert kind == RTM_NEWADDR and decoded == AddressMessage(socket.AF_INET, 6, IPv4Interface("10.9.0.1/24"))


def test_done_ends_a_dump_and_an_error_raises():
    assert list(decode_messages(message(NLMSG_DONE, struct.pack("=i", 0)))) == [(NLMSG_DONE, None)]
    with pytest.raises(NetlinkError) as raised:
        list(decode_messages(message(NLMSG_ERROR, struct.pack("=i", -1) + b"\0" * 16)))
    assert raised.value.errno == 1


def test_a_truncated_message_raises_instead_of_reading_past_the_end():
    data = message(RTM_NEWLINK, link_body(2, 0, attribute(IFLA_IFNAME, b"eth0\0")))
    with pytest.raises(NetlinkError):
        list(decode_messages(data[:-4]))
