"""The collector settings for serving: objects alive at start are frozen, a reload's old ones are freed, and
while serving new objects are frozen every interval, with a full collection now and then."""

import asyncio
import gc

import pytest

from dhcpd import gc_pause
from dhcpd.gc_pause import SERVING_THRESHOLDS, settle_for_serving

pytestmark = pytest.mark.unit


class Node:
    def __init__(self) -> None:
        self.partner = None


def test_settling_freezes_what_lives_and_a_later_settle_frees_old_cycles():
    thresholds = gc.get_threshold()
    try:
        first, second = Node(), Node()
        first.partner, second.partner = second, first   # a cycle, like a scope and its parent
        settle_for_serving()
        assert gc.get_freeze_count() > 0 and gc.get_threshold() == SERVING_THRESHOLDS
        alive = {id(first)}
        del first, second
        settle_for_serving(collect_first=True)
        assert not any(id(obj) in alive for obj in gc.get_objects() if isinstance(obj, Node))
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_the_serving_loop_freezes_every_interval_and_fully_collects_now_and_then(monkeypatch):
    calls = []
    monkeypatch.setattr(gc_pause, "FREEZE_INTERVAL", 0.0)
    monkeypatch.setattr(gc_pause, "FULL_COLLECTION_INTERVAL", 10.0)
    monkeypatch.setattr(gc_pause.gc, "freeze", lambda: calls.append("young"))
    monkeypatch.setattr(gc_pause, "settle_for_serving", lambda collect_first: calls.append("full"))
    now = iter([0.0, 4.0, 8.0, 12.0, 13.0, 15.0, 99.0, 99.0])

    async def scenario():
        task = asyncio.create_task(gc_pause.settle_while_serving(clock=lambda: next(now)))
        while len(calls) < 4:
            await asyncio.sleep(0)
        task.cancel()

    asyncio.run(scenario())
    assert calls[:4] == ["young", "young", "full", "young"]


def test_settling_gives_the_c_heaps_free_pages_back(monkeypatch):
    trims = []
    thresholds = gc.get_threshold()
    monkeypatch.setattr(gc_pause, "give_back_free_pages", lambda: trims.append("trim"))
    try:
        settle_for_serving()
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    assert trims == ["trim"]
