"""Keeping Python's cyclic garbage collector off the hot paths: paused while millions of objects are made
(loading leases at start), and told to leave the long-lived ones alone while serving.

The collector runs each time enough new container objects exist, and every full run walks all of them:
building a million leases and their index entries triggers hundreds of runs that find nothing, since
none of these objects form reference cycles (measured: about a third of the time of building the index).
While serving, a packet makes a few dozen short-lived objects that reference counting frees; with the
default thresholds the collector still ran every few exchanges and cost 35 µs per DORA (14% of the packet
path, measured with bench/packet_path.py and gc callbacks); frozen and with a larger first threshold, 3.5 µs.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


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


SERVING_THRESHOLDS = (50_000, 20, 100)   # new objects before a young collection; then as Python's defaults


def settle_for_serving(collect_first: bool = False) -> None:
    """Move every object alive now (configuration, lease index) out of the collector's view, and collect the
    young generation less often. Called once the server is ready (no full collection: with a million leases it
    takes about a second and finds nothing), and again after a reload with `collect_first`, so that the old
    configuration (its scopes point at each other) is freed before the rest is frozen."""
    if collect_first:
        gc.unfreeze()
        gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_THRESHOLDS)
