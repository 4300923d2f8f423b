"""Sending a reply where RFC 2131 section 4.1 says, given the engine's Destination.

Relay and ciaddr replies are ordinary UDP through the guard socket, so the kernel routes them. Broadcast
replies and replies to a client without an address are raw frames on the ingress link, through the one
packet socket: from the link's MAC and the server address, port 67 to port 68. They are tagged with the
ingress VLAN id(s) only when the ingress link is not itself a VLAN device, i.e. for trunk mode, where the
request arrived tagged on a trunk; a VLAN device adds its own tag. Send errors (a device that vanished,
an unreachable network) are counted by errno name and logged, never raised into the event loop.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections import Counter
from ipaddress import IPv4Address

from dhcpd.engine.types import Destination, DestinationKind, Ingress
from dhcpd.net.interfaces import InterfaceTable
from dhcpd.net.rawsock import send_frame
from dhcpd.wire.addresses import address_text, address_value
from dhcpd.wire.frame import build_frame

log = logging.getLogger(__name__)

DHCP_SERVER_PORT = 67
# Read once: in Python 3.11 every DestinationKind.X read goes through the enum's slow class lookup (about 970
# instructions, callgrind), twice or three times per reply.
_SENT_OVER_UDP = (DestinationKind.RELAY, DestinationKind.UNICAST_CIADDR)
_BROADCAST = DestinationKind.BROADCAST


class Transmitter:
    def __init__(self, packet_sock: socket.socket, guard_sock: socket.socket, table: InterfaceTable) -> None:
        self.packet_sock = packet_sock
        self.guard_sock = guard_sock
        self.table = table
        self.errors: Counter[str] = Counter()

    def send(self, payload: bytes, destination: Destination, ingress: Ingress, server_ip: IPv4Address) -> None:
        try:
            if destination.kind in _SENT_OVER_UDP:   # through the guard socket (dhcpd.net.guard)
                self.guard_sock.sendto(payload, (address_text(address_value(destination.ip)), destination.port))
            else:
                self._send_raw(payload, destination, ingress, server_ip)
        except OSError as error:
            reason = errno.errorcode.get(error.errno, str(error.errno))
            self.errors[reason] += 1
            log.warning("reply to %s:%d via %s not sent: %s", destination.ip, destination.port, ingress.ifname,
                        error)

    def _send_raw(self, payload: bytes, destination: Destination, ingress: Ingress, server_ip: IPv4Address) -> None:
        link = self.table.by_index(ingress.ifindex)
        if link is None:
            raise OSError(errno.ENODEV, f"interface {ingress.ifname} (index {ingress.ifindex}) is gone")
        if destination.kind is _BROADCAST:
            destination_mac = b"\xff" * 6
        else:
            destination_mac = destination.mac
        frame = build_frame(
            src_mac=link.mac,
            dst_mac=destination_mac,
            src_ip=server_ip,
            dst_ip=destination.ip,
            src_port=DHCP_SERVER_PORT,
            dst_port=destination.port,
            payload=payload,
            vlans=self._tags(ingress, link.kind),
        )
        send_frame(self.packet_sock, ingress.ifindex, frame)

    @staticmethod
    def _tags(ingress: Ingress, link_kind: str) -> tuple[int, ...]:
        if ingress.vlan is None or link_kind == "vlan":
            return ()
        return (ingress.vlan,) if ingress.inner_vlan is None else (ingress.vlan, ingress.inner_vlan)
