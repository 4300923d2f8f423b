"""The collector settings for serving: objects alive at start are frozen, a reload's old ones are freed."""

import gc

import pytest

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
