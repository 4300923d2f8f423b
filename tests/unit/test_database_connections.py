"""Pooled SQLite connections give back their page cache when they return to the pool."""

from __future__ import annotations

import ctypes
import ctypes.util
import sqlite3

import pytest
from sqlalchemy import text

from dhcpd.leases.database import create_db_engine

pytestmark = pytest.mark.unit
SQLITE_STATUS_MEMORY_USED = 0
ROWS = 4000


def sqlite_memory_used(library: ctypes.CDLL) -> int:
    current, highest = ctypes.c_int64(), ctypes.c_int64()
    library.sqlite3_status64(SQLITE_STATUS_MEMORY_USED, ctypes.byref(current), ctypes.byref(highest), 0)
    return current.value


def test_a_connection_back_in_the_pool_holds_no_page_cache(tmp_path):
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        pytest.skip("no SQLite library to ask for its memory use")
    library = ctypes.CDLL(name)
    database = tmp_path / "rows.sqlite"
    with sqlite3.connect(database) as filling:
        filling.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
        filling.executemany("INSERT INTO t VALUES (?, ?)", ((n, bytes(256)) for n in range(ROWS)))
    engine = create_db_engine(f"sqlite:///{database}")
    try:
        before = sqlite_memory_used(library)
        with engine.connect() as connection:
            assert len(connection.execute(text("SELECT * FROM t")).all()) == ROWS
            reading = sqlite_memory_used(library)
        after = sqlite_memory_used(library)
    finally:
        engine.dispose()
    assert reading - before > ROWS * 256 // 2   # the read went through the cache: about 1 MiB of pages
    assert after - before < (reading - before) // 4
