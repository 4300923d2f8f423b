"""The web stack of the API (FastAPI app and uvicorn), run inside the DHCP server's event loop.

Imported by api/service.py only when the API is on; uvicorn's own SIGINT/SIGTERM handling is switched off so
the DHCP server keeps its graceful stop, and a cancelled task lets open requests finish before it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn

from api.app import create_app
from api.auth import ApiAuth
from api.heap import TrimmedAfterRequests
from dhcpd.admin import Admin


class LoopUvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: the DHCP server handles SIGINT, SIGTERM and SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(server, listening: socket.socket, token: str | None, reads_need_token: bool) -> None:
    """Serve the API for `server` on the listening socket until cancelled."""
    app = create_app(Admin(server), ApiAuth(token, reads_need_token=reads_need_token))
    web = LoopUvicorn(uvicorn.Config(TrimmedAfterRequests(app), lifespan="off", log_level="warning", access_log=False))
    serving = asyncio.ensure_future(web.serve(sockets=[listening]))
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        web.should_exit = True  # let open requests finish, then close
        await serving
        raise
