"""The API's heap wrapper: a request is served as the application serves it, and the heap is trimmed once
after a burst of requests."""

from __future__ import annotations

import asyncio

import pytest

from api import heap

pytestmark = pytest.mark.unit


def test_the_heap_is_trimmed_once_after_the_last_request_of_a_burst(monkeypatch):
    trims = []
    served = []
    monkeypatch.setattr(heap, "TRIM_DELAY", 0.05)
    monkeypatch.setattr(heap, "give_back_free_pages", lambda: trims.append(len(served)))

    async def app(scope, receive, send) -> None:
        served.append(scope["path"])

    async def scenario() -> None:
        wrapped = heap.TrimmedAfterRequests(app)
        for path in ("/a", "/b", "/c"):
            await wrapped({"type": "http", "path": path}, None, None)
        assert trims == []
        await asyncio.sleep(0.2)

    asyncio.run(scenario())
    assert served == ["/a", "/b", "/c"]
    assert trims == [3]
