"""Gate for the vm tier: its tests need Debian's full kernel (802.1Q, bonding) and run only inside the VM.

tests/vm/vmrun sets DHCPD_IN_VM=1 in the guest; scripts/test-vm boots the VM once for the whole tier.
Outside the VM a vm test fails with that advice instead of passing or skipping; the normal suite
(scripts/test) deselects the tier with `-m "not vm"`. `module_netns` is `netns` shared by a whole module, for
topologies (and a server) that are too slow to build per test under TCG.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.harness.netns import NamespaceFactory

IN_VM = os.environ.get("DHCPD_IN_VM") == "1"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("vm") and not IN_VM:
        pytest.fail("vm tests need the VM's kernel (802.1Q, bonding): run them with scripts/test-vm", pytrace=False)


@pytest.fixture(scope="module")
def module_netns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamespaceFactory]:
    """Like `netns`, but its namespaces (and what runs in them) live until the module's last test is done."""
    factory = NamespaceFactory(tmp_path_factory.mktemp("netns"))
    try:
        yield factory
    finally:
        factory.cleanup()
