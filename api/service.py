"""Serving the API: the --api listener (ADDR:PORT, unix:PATH or off), bound before the server starts so a
bad address fails at once, and uvicorn run inside the DHCP server's own event loop.

uvicorn's `serve()` would take over SIGINT and SIGTERM; here the DHCP server owns them (it commits pending
leases before stopping) and stops the API by cancelling its task (api/web.py).

This module stays light: FastAPI, pydantic and uvicorn (about 19 MiB resident) are imported only when the first
connection to the API arrives, in a worker thread, so a server whose API is never called never holds them and
they never delay a DHCP reply (the import takes about 1 s on the host, far more in a slow VM). That first
connection waits in the listening socket's backlog meanwhile.

FastAPI looks for pydantic v1 models (which it refuses) among every route's types, importing pydantic.v1 to do so
(1.5 MiB resident); the API has none, so that import is refused, and FastAPI takes the ImportError for "none".
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import socket
import stat
import sys
from dataclasses import dataclass
from ipaddress import ip_address

from dhcpd.c_heap import share_one_arena

DEFAULT_API = "127.0.0.1:8067"
UNIX_PREFIX = "unix:"
UNIX_SOCKET_MODE = 0o600
LISTEN_BACKLOG = 128


class ApiListenError(Exception):
    """The --api value cannot be used; the message says why."""


@dataclass
class ApiListener:
    where: str                  # as given, for logs
    socket: socket.socket
    loopback: bool              # loopback address or a filesystem socket: reachable only from this host
    path: str | None = None     # the filesystem socket to remove on stop


def open_listener(spec: str, token: str | None) -> ApiListener | None:
    """Bind the API's socket as `--api` says; None for `off`. A non-loopback address needs a token."""
    if spec == "off":
        return None
    if spec.startswith(UNIX_PREFIX):
        return _open_unix(spec[len(UNIX_PREFIX):])
    host, separator, port_text = spec.rpartition(":")
    try:
        address = ip_address(host.strip("[]"))
        port = int(port_text)
        if not separator or not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise ApiListenError(f"--api {spec!r}: expected ADDR:PORT, unix:PATH or off") from None
    if not address.is_loopback and not token:
        raise ApiListenError(f"--api {spec}: a non-loopback address needs --api-token (or DHCPD_API_TOKEN)")
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((str(address), port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        raise ApiListenError(f"--api {spec}: {error.strerror}") from None
    return ApiListener(spec, sock, address.is_loopback)


def _open_unix(path: str) -> ApiListener:
    if not path:
        raise ApiListenError("--api unix:PATH needs a path")
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)  # left behind by a previous run
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, UNIX_SOCKET_MODE)
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        raise ApiListenError(f"--api unix:{path}: {error.strerror}") from None
    return ApiListener(f"unix:{path}", sock, True, path)


async def serve_api(server, listener: ApiListener, token: str | None) -> None:
    """Serve the API for `server` on `listener` until cancelled (pass with functools.partial to Server.run)."""
    try:
        await _first_connection(listener.socket)
        share_one_arena()   # else the import's thread keeps a malloc arena of its own, 9 MiB of which 3 free
        web = await asyncio.to_thread(_import_web_stack)
        await web.serve(server, listener.socket, token, reads_need_token=not listener.loopback)
    finally:
        listener.socket.close()
        if listener.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(listener.path)


def _import_web_stack():
    sys.modules.setdefault("pydantic.v1", None)   # None: importing it raises ImportError
    return importlib.import_module("api.web")


async def _first_connection(listening: socket.socket) -> None:
    """Return once a connection waits on `listening`, without accepting it."""
    loop = asyncio.get_running_loop()
    waiting = loop.create_future()
    loop.add_reader(listening.fileno(), _settle, waiting)
    try:
        await waiting
    finally:
        loop.remove_reader(listening.fileno())


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
