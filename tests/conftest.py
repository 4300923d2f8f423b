"""Shared pytest fixtures: `netns`, a factory of network namespaces torn down (processes and all) after each test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.netns import NamespaceFactory


@pytest.fixture
def netns(tmp_path: Path) -> Iterator[NamespaceFactory]:
    """Call it with a prefix (`netns("tinf")`) to get a new Namespace; all are deleted after the test."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("netns tests need root and iproute2: run them with `sudo scripts/test`")
    factory = NamespaceFactory(tmp_path / "netns")
    try:
        yield factory
    finally:
        factory.cleanup()
