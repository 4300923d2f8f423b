"""The UDP socket on 0.0.0.0:67 that keeps the port open and sends unicast replies through the kernel.

Without a socket on port 67 the kernel answers relays and renewing clients with ICMP port unreachable,
because the requests themselves are read from the packet socket. A drop-everything filter keeps this
socket's receive queue empty. Replies to a relay (giaddr:67) or to a client that has an address
(ciaddr:68) go out here (`Transmitter.send`), so the kernel chooses route, source interface and next-hop MAC.
"""

from __future__ import annotations

import socket

from dhcpd.net.bpf import DROP_EVERYTHING, attach_filter

DHCP_SERVER_PORT = 67


def open_guard_socket(port: int = DHCP_SERVER_PORT) -> socket.socket:
    """UDP bound to 0.0.0.0:`port`, SO_REUSEADDR and SO_BROADCAST, receiving nothing, non-blocking."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        attach_filter(sock, DROP_EVERYTHING)
        sock.bind(("0.0.0.0", port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock

