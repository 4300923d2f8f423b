"""Fixtures of the unit tier: a lease store on a temporary SQLite file, and the same tests on PostgreSQL too."""

from __future__ import annotations

import itertools
import os

import pytest

from dhcpd.leases.store import LeaseStore
from tests.harness.postgres import throwaway_cluster

DATABASE_NUMBERS = itertools.count()


def _opened(url: str):
    lease_store = LeaseStore(url)
    lease_store.upgrade()
    try:
        yield lease_store
    finally:
        lease_store.close()


@pytest.fixture
def store(tmp_path):
    """An upgraded lease store on a new SQLite file."""
    yield from _opened(f"sqlite:///{tmp_path / 'leases.sqlite'}")


@pytest.fixture(scope="module")
def cluster():
    """One PostgreSQL for the module (initdb takes seconds); each test gets its own database in it."""
    if os.geteuid() != 0:
        pytest.fail("the PostgreSQL variant needs root (it runs initdb as the postgres user): use scripts/test")
    with throwaway_cluster() as running:
        yield running


@pytest.fixture(params=[
    pytest.param("sqlite", marks=pytest.mark.unit),
    pytest.param("postgresql", marks=pytest.mark.netns),
])
def any_store(request, tmp_path):
    """The same test on SQLite (unit tier) and on a throwaway PostgreSQL (netns tier: needs root)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'leases.sqlite'}"
    else:
        url = request.getfixturevalue("cluster").create_database(f"test{next(DATABASE_NUMBERS)}")
    yield from _opened(url)


@pytest.fixture
def server(tmp_path):
    """A real Server (not running) on a temporary SQLite file, for the API tests (tests/unit/api_backend.py)."""
    from tests.unit.api_backend import make_server

    return make_server(tmp_path)


@pytest.fixture
def client(server):
    """An in-process API client of `server`, holding the test token."""
    from tests.unit.api_backend import make_client

    return make_client(server)
