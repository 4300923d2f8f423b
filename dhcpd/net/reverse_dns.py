"""Reverse DNS lookups for `get-lease-hostnames`, off the event loop and bounded in time and threads.

The C library's resolver blocks, so each lookup runs as gethostbyaddr() (what isc-dhcpd calls, through
/etc/hosts and DNS as nsswitch.conf says) on a small thread pool. A caller waits at most `timeout` seconds
and then takes "no name"; concurrent lookups of one address share one thread.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address

DEFAULT_TIMEOUT = 2.0
LOOKUP_THREADS = 4


class ReverseResolver:
    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=LOOKUP_THREADS, thread_name_prefix="reverse-dns")
        self._pending: dict[IPv4Address, asyncio.Future[str | None]] = {}

    async def name_of(self, address: IPv4Address) -> str | None:
        """The address's name, or None when it has none or the lookup took longer than `timeout`."""
        lookup = self._pending.get(address)
        if lookup is None:
            lookup = asyncio.get_running_loop().run_in_executor(self._executor, host_name_of, str(address))
            self._pending[address] = lookup
            lookup.add_done_callback(lambda _: self._pending.pop(address, None))
        try:
            return await asyncio.wait_for(asyncio.shield(lookup), self.timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def host_name_of(address: str) -> str | None:
    try:
        return socket.gethostbyaddr(address)[0]
    except OSError:  # socket.herror (no name) and socket.gaierror are both OSErrors
        return None
