"""Route-netlink dumps on a plain socket, decoded by pyroute2's message classes.

pyroute2 0.9's synchronous IPRoute runs its own asyncio loop and refuses to work inside a running one, so
the interface table asks the kernel itself: one request, messages until NLMSG_DONE, parsed by MarshalRtnl.
"""

from __future__ import annotations

import socket
import struct

from pyroute2.netlink.rtnl.marshal import MarshalRtnl

RTM_GETLINK = 18
RTM_GETADDR = 22
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
READ_BYTES = 1 << 17

_NETLINK_HEADER = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")


class NetlinkError(OSError):
    """The kernel answered a dump request with an error."""


def dump_links() -> list:
    """Every link of the current namespace as pyroute2 ifinfmsg messages."""
    return _dump(RTM_GETLINK, _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0))


def dump_ipv4_addresses() -> list:
    """Every IPv4 address of the current namespace as pyroute2 ifaddrmsg messages."""
    return _dump(RTM_GETADDR, _IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0))


def _dump(request_type: int, body: bytes) -> list:
    sequence = 1
    request = _NETLINK_HEADER.pack(_NETLINK_HEADER.size + len(body), request_type, NLM_F_REQUEST | NLM_F_DUMP,
                                   sequence, 0) + body
    marshal = MarshalRtnl()
    messages = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        sock.send(request)
        while True:
            for message in marshal.parse(sock.recv(READ_BYTES)):
                kind = message["header"]["type"]
                if kind == NLMSG_DONE:
                    return messages
                if kind == NLMSG_ERROR:
                    raise NetlinkError(-message["error"], f"netlink dump {request_type} failed")
                messages.append(message)
