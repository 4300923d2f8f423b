"""systemd readiness notification (sd_notify) without a dependency: one datagram to $NOTIFY_SOCKET.

With `Type=notify` systemd waits for "READY=1" before it counts the service as started, and "STOPPING=1"
tells it a stop is under way. The socket is a unix datagram socket; a name starting with "@" is in the
abstract namespace (sent with a leading NUL byte). Without $NOTIFY_SOCKET (not run by systemd) nothing is
sent. A failure to notify is logged, never fatal: the server serves either way.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("dhcpd")


def notify(state: str) -> bool:
    """Send `state` (e.g. "READY=1\\nSTATUS=serving") to systemd; True if it was sent."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    target = "\0" + address[1:] if address.startswith("@") else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), target)
    except OSError as error:
        log.warning("could not notify systemd at %s: %s", address, error)
        return False
    return True
