"""Trunk mode's receive side: one packet socket per trunk interface (never one per VLAN), opened and closed
as the configured trunk interfaces appear and disappear.

A tagged frame for a VLAN that has no kernel VLAN device reaches the server's ETH_P_IP socket as
PACKET_OTHERHOST with its tag already cleared, so it cannot be served there. A trunk socket is ETH_P_ALL,
bound to the trunk, with PACKET_AUXDATA for the tag the kernel took out (a QinQ frame's inner tag stays in
the frame) and PACKET_IGNORE_OUTGOING so the host's own transmissions are not copied to it. Its filter
keeps only tagged frames carrying IPv4/UDP to port 67; untagged frames on the trunk are the ETH_P_IP
socket's. Replies leave through the server's one packet socket, tagged by the Transmitter.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Collection

from dhcpd.net.bpf import (ANCILLARY_VLAN_TAG_PRESENT, JUMP_IF_EQUAL, LOAD_HALF, LOAD_WORD, RETURN, Instruction,
                           attach_filter, ipv4_udp_to_port)
from dhcpd.net.interfaces import InterfaceTable
from dhcpd.net.rawsock import (DHCP_SERVER_PORT, ETHERNET_HEADER_BYTES, PACKET_AUXDATA, SOL_PACKET, VLAN_TAG_BYTES,
                               receive_tagged)
from dhcpd.net.readers import keep_reading

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
PACKET_IGNORE_OUTGOING = 23
TPID_8021Q = 0x8100
FRAMES_PER_WAKEUP = 256

_SINGLE_TAG = ipv4_udp_to_port(ETHERNET_HEADER_BYTES, DHCP_SERVER_PORT)
# Offsets are those of the frame as the filter sees it: the outer tag already taken out by the kernel.
TRUNK_FILTER: list[Instruction] = [
    (LOAD_WORD, 0, 0, ANCILLARY_VLAN_TAG_PRESENT),              # 0
    (JUMP_IF_EQUAL, 0, 1, 0),                                   # 1: tagged -> 3
    (RETURN, 0, 0, 0),                                          # 2: untagged: the ETH_P_IP socket's
    (LOAD_HALF, 0, 0, 12),                                      # 3: ethertype after the outer tag
    (JUMP_IF_EQUAL, len(_SINGLE_TAG), 0, TPID_8021Q),           # 4: an inner tag -> the QinQ block
    *_SINGLE_TAG,
    *ipv4_udp_to_port(ETHERNET_HEADER_BYTES + VLAN_TAG_BYTES, DHCP_SERVER_PORT),
]

# (frame, trunk interface index, trunk name, outer VLAN id)
FrameHandler = Callable[[bytes, int, str, int], None]


def open_trunk_socket(ifname: str) -> socket.socket:
    """ETH_P_ALL bound to `ifname`, filtered to tagged IPv4/UDP/67, tag in auxdata, outgoing ignored."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    try:
        attach_filter(sock, TRUNK_FILTER)
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        # Bound with the protocol only now, after the filter is in place, so nothing unfiltered is queued.
        sock.bind((ifname, ETH_P_ALL))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class TrunkSockets:
    """The open trunk sockets, by trunk name; `sync` makes them match the configured names and the links
    that exist now, so a trunk created, renamed or deleted while the server runs is followed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_frame: FrameHandler) -> None:
        self.loop = loop
        self.on_frame = on_frame
        self.receive_errors = 0
        self._open: dict[str, tuple[int, socket.socket]] = {}

    def sync(self, table: InterfaceTable, names: Collection[str]) -> None:
        for name, (index, _) in list(self._open.items()):
            link = table.by_name(name)
            if name not in names or link is None or link.index != index:
                self._close(name)
        for name in names:
            link = table.by_name(name)
            if name in self._open or link is None:
                continue
            try:
                sock = open_trunk_socket(name)
            except OSError as error:
                log.warning("trunk %s is not served: %s", name, error)
                continue
            self._open[name] = (link.index, sock)
            self.loop.add_reader(sock.fileno(), self._drain, name)
            log.info("trunk %s: listening for tagged requests", name)

    def names(self) -> list[str]:
        return list(self._open)

    def close(self) -> None:
        for name in list(self._open):
            self._close(name)

    def _close(self, name: str) -> None:
        _, sock = self._open.pop(name)
        self.loop.remove_reader(sock.fileno())
        sock.close()
        log.info("trunk %s: closed", name)

    def _drain(self, name: str) -> None:
        index, sock = self._open[name]
        for _ in range(FRAMES_PER_WAKEUP):
            try:
                received = receive_tagged(sock)
            except OSError as error:  # e.g. ENETDOWN once when the trunk goes down or away
                self.receive_errors += 1
                log.warning("trunk %s: receive failed: %s", name, error)
                keep_reading(self.loop, sock.fileno(), self._drain, name)
                return
            if received is None:
                return
            frame, vlan = received
            if vlan is not None:
                self.on_frame(frame, index, name, vlan)
