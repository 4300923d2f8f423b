"""Classic BPF (socket filter) programs and attaching them with SO_ATTACH_FILTER.

A program is a list of (code, jt, jf, k) tuples, the layout of `struct sock_filter` in linux/filter.h.
"""

from __future__ import annotations

import ctypes
import socket
import struct

Instruction = tuple[int, int, int, int]

# Opcode pieces from linux/bpf_common.h.
BPF_LD, BPF_LDX, BPF_JMP, BPF_RET = 0x00, 0x01, 0x05, 0x06
BPF_W, BPF_H, BPF_B = 0x00, 0x08, 0x10
BPF_ABS, BPF_IND, BPF_MSH = 0x20, 0x40, 0xA0
BPF_JEQ, BPF_JSET = 0x10, 0x40
BPF_K = 0x00

LOAD_WORD = BPF_LD | BPF_W | BPF_ABS
LOAD_HALF = BPF_LD | BPF_H | BPF_ABS
LOAD_BYTE = BPF_LD | BPF_B | BPF_ABS
LOAD_HALF_AT_X = BPF_LD | BPF_H | BPF_IND
LOAD_IP_HEADER_LENGTH_INTO_X = BPF_LDX | BPF_B | BPF_MSH      # X = 4 * (packet[k] & 0x0f)
JUMP_IF_EQUAL = BPF_JMP | BPF_JEQ | BPF_K
JUMP_IF_ANY_BIT = BPF_JMP | BPF_JSET | BPF_K
RETURN = BPF_RET | BPF_K

ACCEPT_WHOLE_PACKET = 0xFFFFFFFF
# Loading from these offsets reads packet metadata instead of packet bytes (linux/filter.h SKF_AD_*).
ANCILLARY_VLAN_TAG_PRESENT = (-0x1000 + 48) & 0xFFFFFFFF

ETH_P_IP = 0x0800
IPPROTO_UDP = 17

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
_INSTRUCTION = struct.Struct("=HBBI")
_PROGRAM = struct.Struct("@HP")        # struct sock_fprog: length, (padding,) pointer to the instructions

DROP_EVERYTHING: list[Instruction] = [(RETURN, 0, 0, 0)]


def ipv4_udp_to_port(ip_offset: int, port: int) -> list[Instruction]:
    """Accept an unfragmented IPv4/UDP datagram to `port` whose IPv4 header starts at `ip_offset` (the
    ethertype sits just before it); drop anything else. The block ends in its own return instructions.
    Jump offsets count instructions after the jump: from instruction i, target = i + 1 + offset."""
    return [
        (LOAD_HALF, 0, 0, ip_offset - 2),                 # 0: ethertype
        (JUMP_IF_EQUAL, 0, 8, ETH_P_IP),                  # 1: not IPv4 -> 10
        (LOAD_BYTE, 0, 0, ip_offset + 9),                 # 2: IP protocol
        (JUMP_IF_EQUAL, 0, 6, IPPROTO_UDP),               # 3: not UDP -> 10
        (LOAD_HALF, 0, 0, ip_offset + 6),                 # 4: flags and fragment offset
        (JUMP_IF_ANY_BIT, 4, 0, 0x3FFF),                  # 5: more-fragments or offset set -> 10
        (LOAD_IP_HEADER_LENGTH_INTO_X, 0, 0, ip_offset),  # 6: X = IP header length
        (LOAD_HALF_AT_X, 0, 0, ip_offset + 2),            # 7: UDP destination port
        (JUMP_IF_EQUAL, 0, 1, port),                      # 8: not `port` -> 10
        (RETURN, 0, 0, ACCEPT_WHOLE_PACKET),              # 9: accept
        (RETURN, 0, 0, 0),                                # 10: drop
    ]


def attach_filter(sock: socket.socket, program: list[Instruction]) -> None:
    """Attach `program` to `sock`; the kernel copies it, so the buffer only lives for the call."""
    instructions = ctypes.create_string_buffer(b"".join(_INSTRUCTION.pack(*step) for step in program))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                    _PROGRAM.pack(len(program), ctypes.addressof(instructions)))
