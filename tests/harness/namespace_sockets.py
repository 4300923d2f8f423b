"""Sockets that live in a test namespace but are used from the pytest process.

A socket belongs to the network namespace it was created in, whoever uses it later. `open_inside` creates
one in a forked child that joined the namespace and hands the descriptor back over a Unix socket
(SCM_RIGHTS), so a test can send and receive in several namespaces without ever switching its own.
"""

from __future__ import annotations

import socket
from typing import Callable

from tests.harness.netns import Namespace


def open_inside(namespace: Namespace, opener: Callable[[], socket.socket]) -> socket.socket:
    """Call `opener()` inside `namespace` and return the socket it made."""
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with parent_end, child_end:

        def open_and_hand_back() -> None:
            with opener() as sock:
                socket.send_fds(child_end, [b"socket"], [sock.fileno()])

        namespace.call(open_and_hand_back)
        _, descriptors, _, _ = socket.recv_fds(parent_end, 16, 1)
    return socket.socket(fileno=descriptors[0])
