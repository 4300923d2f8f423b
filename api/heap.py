"""The C heap (glibc malloc) after the API's requests: its free pages given back once a burst of them is over.

glibc keeps the pages that a large response (a listing of 4,000 links is about 1 MB, built in pieces) leaves
free. Measured at 4,000 links and 100,000 leases (/api/v1/stats, interfaces, subnets and /metrics, twice, in a
process like the server's): the API left 27-28 MiB more resident, and 21-22 MiB with this and with its threads
sharing one malloc arena (api/service.py).
"""

from __future__ import annotations

import asyncio

from dhcpd.c_heap import give_back_free_pages

TRIM_DELAY = 1.0   # seconds after the last request before the free pages are given back


class TrimmedAfterRequests:
    """ASGI wrapper: TRIM_DELAY after the last request of a burst ends, the heap's free pages go back to the system
    (on the event loop: about a millisecond, once per burst, never per DHCP packet)."""

    def __init__(self, app) -> None:
        self.app = app
        self._pending: asyncio.TimerHandle | None = None

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if self._pending is not None:
                self._pending.cancel()
            self._pending = asyncio.get_running_loop().call_later(TRIM_DELAY, give_back_free_pages)
