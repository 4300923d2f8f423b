"""The one AF_PACKET socket that receives DHCP requests from, and sends raw replies to, every interface.

It is opened with protocol ETH_P_IP and left unbound: unbound, it hears every interface of the network
namespace, once per frame, on the top device of a stack (bridge, bond, VLAN device). A classic BPF filter
keeps only unfragmented IPv4 UDP to port 67, so the kernel queues nothing else.

It receives into a memory-mapped ring (PACKET_RX_RING, TPACKET_V2, `PacketRing`): the kernel writes each
frame with its interface index and packet type into the next slot, and reading it takes no system call.
Measured with `python -m bench.receive_path` (DHCPDISCOVER-sized frames, thread CPU, noisy shared machine,
medians of three runs): 0.7-1.2 us per frame against 2.7-4.3 us for one recvmsg per frame through ctypes. Trunk sockets (dhcpd.net.trunk)
still use recvmsg (`receive_tagged`). Sending by interface index goes through libc `sendto` with a
`struct sockaddr_ll`: CPython's own `sendto` takes only an interface name.
A socket bound to ETH_P_IP sits on the per-protocol receive list, which never sees the host's own
transmissions, so PACKET_OUTGOING frames do not arrive; `pkttype` is still returned so the caller drops
PACKET_OTHERHOST (for instance a tagged frame of a VLAN that has no VLAN device).
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import socket
import struct
from collections import Counter

from dhcpd.net.bpf import Instruction, attach_filter, ipv4_udp_to_port

ETH_P_IP = 0x0800
DHCP_SERVER_PORT = 67
MAX_FRAME_BYTES = 65535
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_RX_RING = 5
PACKET_COPY_THRESH = 7
PACKET_VERSION = 10
TPACKET_V2 = 1
TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
TP_STATUS_COPY = 0x2            # the frame did not fit its slot; a whole copy waits on the socket's queue
TP_STATUS_CSUMNOTREADY = 0x8    # sent by this host or through a veth: the checksum is not filled in yet
TP_STATUS_CSUM_VALID = 0x80     # the device or the kernel already verified it
_CHECKSUM_NOT_TO_CHECK = TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID
TP_STATUS_VLAN_VALID = 0x10     # vlan_tci holds the tag the kernel removed from the frame
VLAN_ID_MASK = 0x0FFF
VLAN_TAG_BYTES = 4
TPID_8021Q_BYTES = b"\x81\x00"
ETHERNET_HEADER_BYTES = 14
UDP_CHECKSUM_OFFSET = 6
# 4096 slots of 1 KiB: half a second of requests at the highest rate measured here, in 4 MiB that all become
# resident as the ring turns (2 KiB slots took 8 MiB; 16 MiB took VmHWM past 150 MiB at 4,000 links). A slot holds
# a frame of up to 958 bytes beside its header, which DHCP requests hardly ever exceed; a longer one (up to the
# link's MTU) reaches the socket's own queue whole (PACKET_COPY_THRESH) and is read from there. Blocks are a
# multiple of any page size.
RING_FRAME_BYTES = 1024
RING_FRAMES = 4096
RING_BLOCK_BYTES = 64 * 1024
RING_BYTES = RING_FRAME_BYTES * RING_FRAMES
OVERSIZED_DROP = "oversized-frame"

PACKET_HOST = socket.PACKET_HOST
PACKET_BROADCAST = socket.PACKET_BROADCAST
PACKET_MULTICAST = socket.PACKET_MULTICAST
PACKET_OTHERHOST = socket.PACKET_OTHERHOST
PACKET_OUTGOING = socket.PACKET_OUTGOING

# The filter sees the frame with any tag already removed, so IPv4 starts right after the Ethernet header.
DHCP_SERVER_FILTER: list[Instruction] = ipv4_udp_to_port(ETHERNET_HEADER_BYTES, DHCP_SERVER_PORT)


class SockaddrLL(ctypes.Structure):
    """`struct sockaddr_ll` from linux/if_packet.h."""

    _fields_ = [
        ("family", ctypes.c_ushort),
        ("protocol", ctypes.c_uint16),           # network byte order
        ("ifindex", ctypes.c_int),
        ("hatype", ctypes.c_ushort),
        ("pkttype", ctypes.c_ubyte),
        ("halen", ctypes.c_ubyte),
        ("addr", ctypes.c_ubyte * 8),
    ]


class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


class MessageHeader(ctypes.Structure):
    """`struct msghdr` from sys/socket.h."""

    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.POINTER(IOVec)),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class AuxdataMessage(ctypes.Structure):
    """A `struct cmsghdr` carrying `struct tpacket_auxdata` (linux/if_packet.h)."""

    _fields_ = [
        ("cmsg_len", ctypes.c_size_t),
        ("cmsg_level", ctypes.c_int),
        ("cmsg_type", ctypes.c_int),
        ("status", ctypes.c_uint32),
        ("length", ctypes.c_uint32),
        ("snaplen", ctypes.c_uint32),
        ("mac", ctypes.c_uint16),
        ("net", ctypes.c_uint16),
        ("vlan_tci", ctypes.c_uint16),
        ("vlan_tpid", ctypes.c_uint16),
    ]


# The start of each ring slot: struct tpacket2_hdr's status, len, snaplen and mac, then from the
# struct sockaddr_ll that follows it (at TPACKET_ALIGN(32)) the interface index and packet type.
_SLOT_HEADER = struct.Struct("=IIIH22xi2xB")
_RING_REQUEST = struct.pack("=IIII", RING_BLOCK_BYTES, RING_BYTES // RING_BLOCK_BYTES, RING_FRAME_BYTES, RING_FRAMES)

_libc = ctypes.CDLL(None, use_errno=True)
_SOCKADDR_LL_SIZE = ctypes.sizeof(SockaddrLL)
_AUXDATA_SIZE = ctypes.sizeof(AuxdataMessage)
_ETH_P_IP_NETWORK_ORDER = socket.htons(ETH_P_IP)

# recvmsg is called without argtypes, on one pre-built message header: ctypes argument conversion would
# cost more than the system call. The scratch space is reused: the server reads from one event loop thread.
_recvmsg = _libc.recvmsg
_recvmsg.restype = ctypes.c_ssize_t
_frame_buffer = ctypes.create_string_buffer(MAX_FRAME_BYTES)
_frame_bytes = memoryview(_frame_buffer).cast("B")
_source = SockaddrLL()
_auxdata = AuxdataMessage()
_vector = IOVec(ctypes.addressof(_frame_buffer), MAX_FRAME_BYTES)
_header = MessageHeader(name=ctypes.addressof(_source), iov=ctypes.pointer(_vector), iovlen=1,
                        control=ctypes.addressof(_auxdata))
_header_ref = ctypes.byref(_header)
_no_flags = ctypes.c_int(0)

_sendto = _libc.sendto
_sendto.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int,
                    ctypes.POINTER(SockaddrLL), ctypes.c_uint32]
_sendto.restype = ctypes.c_ssize_t
# send_frame's destination, reused with the ifindex of each frame: making a SockaddrLL costs about four times as much
# as setting one field (callgrind), and the server sends from one event loop thread.
_destination = SockaddrLL(family=socket.AF_PACKET, protocol=_ETH_P_IP_NETWORK_ORDER)
_destination_ref = ctypes.byref(_destination)


def open_packet_socket() -> socket.socket:
    """The server's one packet socket: ETH_P_IP, unbound, filtered to IPv4/UDP/67, non-blocking, receiving
    into a ring that `PacketRing` maps."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    try:
        attach_filter(sock, DHCP_SERVER_FILTER)
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
        sock.setsockopt(SOL_PACKET, PACKET_COPY_THRESH, 1)
        sock.setsockopt(SOL_PACKET, PACKET_RX_RING, _RING_REQUEST)
        sock.setblocking(False)
        _discard_queued(sock)
    except BaseException:
        sock.close()
        raise
    return sock


def _discard_queued(sock: socket.socket) -> None:
    """Drop what was queued before the ring: some of it came before the filter, and anything left there
    would keep the socket readable while `PacketRing` looks only at the ring."""
    while True:
        try:
            sock.recv(MAX_FRAME_BYTES)
        except BlockingIOError:
            return


class PacketRing:
    """The packet socket's receive ring (PACKET_RX_RING, TPACKET_V2) mapped into this process.

    The kernel copies each accepted frame into the next slot and hands it over by setting TP_STATUS_USER;
    `receive` reads slots in the same order and gives each back (TP_STATUS_KERNEL), so reading takes no
    system call. A frame longer than a slot arrives cut short there, and whole on the socket's own queue, which
    `receive` then reads (one recvmsg); when that queue was full the kernel kept no copy, and the frame is
    dropped and counted, never decoded.
    The fd polls readable while the slot the kernel filled last is still ours.
    """

    def __init__(self, sock: socket.socket, drops: Counter[str] | None = None) -> None:
        self._sock = sock
        self._ring = mmap.mmap(sock.fileno(), RING_BYTES, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._statuses = memoryview(self._ring).cast("I")
        self._offset = 0
        self.drops = drops if drops is not None else Counter()

    def receive(self) -> tuple[bytes, int, int] | None:
        """The next frame as (frame, ifindex, pkttype), or None when no slot is ready.

        When the kernel reports the UDP checksum as not computed yet (CHECKSUM_PARTIAL, e.g. across a veth)
        or as already verified, the frame's UDP checksum is zeroed, which `decode_frame` reads as "none".
        """
        ring = self._ring
        statuses = self._statuses
        offset = self._offset
        while statuses[offset >> 2] & TP_STATUS_USER:   # the slot's status word, read alone when empty
            status, length, snaplen, mac, ifindex, pkttype = _SLOT_HEADER.unpack_from(ring, offset)
            if snaplen == length:
                start = offset + mac
                if status & _CHECKSUM_NOT_TO_CHECK:
                    _clear_udp_checksum(ring, start, snaplen, ETHERNET_HEADER_BYTES)
                frame = ring[start:start + snaplen]
                statuses[offset >> 2] = TP_STATUS_KERNEL   # the slot goes back once its frame is copied out
                self._offset = (offset + RING_FRAME_BYTES) % RING_BYTES
                return frame, ifindex, pkttype
            whole = _queued_copy(self._sock, status) if status & TP_STATUS_COPY else None
            statuses[offset >> 2] = TP_STATUS_KERNEL
            offset = (offset + RING_FRAME_BYTES) % RING_BYTES
            if whole is not None:
                self._offset = offset
                return whole, ifindex, pkttype
            self.drops[OVERSIZED_DROP] += 1
        self._offset = offset
        return None

    def close(self) -> None:
        self._statuses.release()
        self._ring.close()

    def __enter__(self) -> PacketRing:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def receive_tagged(sock: socket.socket) -> tuple[bytes, int | None] | None:
    """For a trunk socket: the next frame and the VLAN id the kernel took out of it (PACKET_AUXDATA), or None
    when the queue is empty. A second (inner) tag stays in the frame. Checksums are handled as in
    `PacketRing.receive`."""
    length = _receive_into_buffer(sock)
    if length is None:
        return None
    if not _header.controllen or not _auxdata.status & TP_STATUS_VLAN_VALID:
        return ctypes.string_at(_frame_buffer, length), None
    if _auxdata.status & _CHECKSUM_NOT_TO_CHECK:
        inner_tag = _frame_buffer[12:14] == TPID_8021Q_BYTES
        _clear_udp_checksum(_frame_bytes, 0, length, ETHERNET_HEADER_BYTES + (VLAN_TAG_BYTES if inner_tag else 0))
    return ctypes.string_at(_frame_buffer, length), _auxdata.vlan_tci & VLAN_ID_MASK


def _queued_copy(sock: socket.socket, status: int) -> bytes | None:
    """The whole frame the kernel queued on the ring's socket for a slot too small for it (TP_STATUS_COPY), its
    checksum handled as the slot's `status` says; None if the queue is empty."""
    length = _receive_into_buffer(sock)
    if length is None:
        return None
    if status & _CHECKSUM_NOT_TO_CHECK:
        _clear_udp_checksum(_frame_bytes, 0, length, ETHERNET_HEADER_BYTES)
    return ctypes.string_at(_frame_buffer, length)


def _receive_into_buffer(sock: socket.socket) -> int | None:
    _header.namelen = _SOCKADDR_LL_SIZE
    _header.controllen = _AUXDATA_SIZE
    _auxdata.status = 0
    length = _recvmsg(sock.fileno(), _header_ref, _no_flags)
    if length < 0:
        error = ctypes.get_errno()
        if error in (errno.EAGAIN, errno.EINTR):
            return None
        raise OSError(error, os.strerror(error))
    return length


def _clear_udp_checksum(buffer: mmap.mmap | memoryview, start: int, length: int, ip_offset: int) -> None:
    """Zero the UDP checksum of the frame of `length` bytes at `buffer[start:]`. The filter accepted the
    frame, so an IPv4 header starts at `ip_offset` in it."""
    position = start + ip_offset + (buffer[start + ip_offset] & 0x0F) * 4 + UDP_CHECKSUM_OFFSET
    if position + 2 <= start + length:
        buffer[position] = buffer[position + 1] = 0


def send_frame(sock: socket.socket, interface: str | int, frame: bytes) -> None:
    """Send a complete Ethernet frame out of `interface` (name or index) through the packet socket."""
    if isinstance(interface, str):
        sock.sendto(frame, (interface, ETH_P_IP))
        return
    _destination.ifindex = interface
    if _sendto(sock.fileno(), frame, len(frame), 0, _destination_ref, _SOCKADDR_LL_SIZE) < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
