"""Keeping Python's cyclic garbage collector off the hot paths: paused while millions of objects are made
(loading leases at start), and told to leave the long-lived ones alone while serving.

The collector runs each time enough new container objects exist, and every full run walks all of them:
building a million leases and their index entries triggers hundreds of runs that find nothing, since
none of these objects form reference cycles (measured: about a third of the time of building the index).
While serving, a packet makes a few dozen short-lived objects that reference counting frees; with the
default thresholds the collector still ran every few exchanges and cost 35 µs per DORA (14% of the packet
path, measured with bench/packet_path.py and gc callbacks); frozen and with a larger first threshold, 3.5 µs.

Leases made while serving live long too, and a full collection walks every one made since the last freeze:
49 ms in one at 4,000 links (it grows with the server's uptime). Collecting what was made in the last second
and freezing the rest cost 9 ms a second at 3,000-6,000 DORA/s and never found garbage (the packet path makes
no reference cycles), so every half second what was made since is frozen without a collection, which costs
nothing. A cycle that does become garbage meanwhile (an API request's objects, say) is freed by the full
collection every hour (about a second with a million leases, 60 ms with 100,000) or at the next reload.
Each settle also gives the C heap's free pages back (dhcpd/c_heap.py).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

from dhcpd.c_heap import give_back_free_pages


@contextmanager
def paused_collector() -> Iterator[None]:
    """No cyclic collection inside the block; the collector is enabled again after it if it was before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def making_long_lived() -> Iterator[None]:
    """`paused_collector`, and what the block made goes straight to the collector's oldest generation, as do
    objects frozen before it: else the young collections after it would walk every one of them on their way there,
    finding nothing to free (a million leases: 0.8 s at start-up)."""
    with paused_collector():
        yield
        gc.freeze()
        gc.unfreeze()


SERVING_THRESHOLDS = (50_000, 20, 100)   # new objects before a young collection; then as Python's defaults
FREEZE_INTERVAL = 0.5                     # seconds between freezing what was made while serving
FULL_COLLECTION_INTERVAL = 3600.0         # seconds between full collections, frozen objects included


def settle_for_serving(collect_first: bool = False) -> None:
    """Move every object alive now (configuration, lease index) out of the collector's view, collect the young
    generation less often, and give the C heap's free pages back. Called once the server is ready (no full
    collection: with a million leases it takes about a second and finds nothing), and again after a reload with
    `collect_first`, so that the old configuration (its scopes point at each other) is freed before the rest is
    frozen."""
    if collect_first:
        gc.unfreeze()
        gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_THRESHOLDS)
    give_back_free_pages()


async def settle_while_serving(clock=time.monotonic) -> None:
    """Forever: freeze what was made since, every FREEZE_INTERVAL, and a full settle every
    FULL_COLLECTION_INTERVAL."""
    last_full = clock()
    while True:
        await asyncio.sleep(FREEZE_INTERVAL)
        if clock() - last_full >= FULL_COLLECTION_INTERVAL:
            settle_for_serving(collect_first=True)
            last_full = clock()
        else:
            gc.freeze()
