"""A scriptable DHCP client for tests: crafted frames out of an interface of a test namespace, replies back.

Real clients cannot send a DECLINE on demand, a QinQ-tagged DISCOVER or a burst of garbage; this one can.
It uses a packet socket bound to one interface of the client's namespace (made there and handed back to
the test process), the project's own codec and framing, and skips the frames the host itself sent.
The kernel takes the outer VLAN tag out of a received frame before a packet socket sees it and reports it
in PACKET_AUXDATA; replies put it back in front of the tags still in the frame (a QinQ inner tag).
"""

from __future__ import annotations

import select
import socket
import struct
import time
from ipaddress import IPv4Address
from typing import NamedTuple

from dhcpd.wire.codec import MalformedPacket, decode, encode
from dhcpd.wire.frame import BadFrame, build_frame, decode_frame
from dhcpd.wire.message import DhcpMessage, MessageType
from tests.harness.namespace_sockets import open_inside
from tests.harness.netns import Namespace

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
AUXDATA = struct.Struct("=IIIHHHH")     # struct tpacket_auxdata: status, len, snaplen, mac, net, vlan_tci, vlan_tpid
BROADCAST_MAC = b"\xff" * 6
BROADCAST_IP = IPv4Address("255.255.255.255")


class RawClient:
    def __init__(self, namespace: Namespace, ifname: str, mac: bytes) -> None:
        self.mac = mac

        def opener() -> socket.socket:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            sock.bind((ifname, ETH_P_ALL))
            return sock

        self.sock = open_inside(namespace, opener)

    def close(self) -> None:
        self.sock.close()

    def send_frame(self, frame: bytes) -> None:
        self.sock.send(frame)

    def send(self, message: DhcpMessage, *, src_ip: IPv4Address = IPv4Address(0),
             dst_ip: IPv4Address = BROADCAST_IP, dst_mac: bytes = BROADCAST_MAC, vlans: tuple[int, ...] = ()) -> None:
        self.send_frame(build_frame(src_mac=self.mac, dst_mac=dst_mac, src_ip=src_ip, dst_ip=dst_ip, src_port=68,
                                    dst_port=67, payload=encode(message), vlans=vlans))

    def request(self, kind: MessageType, xid: int, **fields) -> DhcpMessage:
        options = {53: bytes([kind]), **fields.pop("options", {})}
        return DhcpMessage(xid=xid, chaddr=self.mac, options=options, **fields)

    def replies(self, xid: int, timeout: float = 3.0, count: int = 1) -> list[tuple[DhcpMessage, tuple[int, ...]]]:
        """Replies to `xid` (with the VLAN tags they carried) until `count` arrived or `timeout` passed."""
        return [(reply.message, reply.vlans) for reply in self.reply_frames(xid, timeout, count)]

    def reply_frames(self, xid: int, timeout: float = 3.0, count: int = 1) -> list[Reply]:
        """Like `replies`, with the Ethernet and IP source of each reply."""
        found: list[Reply] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                break
            data, ancillary, _, address = self.sock.recvmsg(65535, socket.CMSG_SPACE(AUXDATA.size))
            if address[2] == socket.PACKET_OUTGOING:
                continue
            try:
                frame = decode_frame(data)
                message = decode(frame.payload)
            except (BadFrame, MalformedPacket):
                continue
            if frame.dst_port == 68 and message.xid == xid:
                found.append(Reply(message, removed_tag(ancillary) + frame.vlans, frame.src_mac, frame.src_ip))
        return found


class Reply(NamedTuple):
    message: DhcpMessage
    vlans: tuple[int, ...]          # outer first
    src_mac: bytes
    src_ip: IPv4Address


def removed_tag(ancillary: list[tuple[int, int, bytes]]) -> tuple[int, ...]:
    """The VLAN id the kernel took out of a received frame, from PACKET_AUXDATA, as a 0- or 1-tuple."""
    for level, kind, data in ancillary:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= AUXDATA.size:
            status, _, _, _, _, tci, _ = AUXDATA.unpack_from(data)
            if status & TP_STATUS_VLAN_VALID:
                return (tci & 0x0FFF,)
    return ()
