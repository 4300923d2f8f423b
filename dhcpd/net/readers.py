"""Watching a socket again after it reported an error, on uvloop as on asyncio's own loop.

uvloop (libuv) stops watching a socket for reading once epoll reports an error on it (EPOLLERR: a pending
ENOBUFS on the netlink socket, ENETDOWN on a trunk socket whose link went down); asyncio's own loop keeps
watching it. A reader that handles such an error and means to go on calls `keep_reading`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def keep_reading(loop: asyncio.AbstractEventLoop, fileno: int, callback: Callable[..., object], *args: object) -> None:
    """Watch `fileno` for reading with `callback(*args)` again, whether or not the loop still did."""
    loop.remove_reader(fileno)
    loop.add_reader(fileno, callback, *args)
