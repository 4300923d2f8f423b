"""Gate for the vm tier: its tests need Debian's full kernel (802.1Q, bonding) and run only inside the VM.

tests/vm/vmrun sets DHCPD_IN_VM=1 in the guest; scripts/test-vm boots the VM once for the whole tier.
Outside the VM a vm test fails with that advice instead of passing or skipping; the normal suite
(scripts/test) deselects the tier with `-m "not vm"`.
"""

from __future__ import annotations

import os

import pytest

IN_VM = os.environ.get("DHCPD_IN_VM") == "1"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("vm") and not IN_VM:
        pytest.fail("vm tests need the VM's kernel (802.1Q, bonding): run them with scripts/test-vm", pytrace=False)
