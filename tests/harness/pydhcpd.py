"""Our server in a test namespace: `python -m dhcpd -f -d` with its own config, lease database and log."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from ipaddress import IPv4Address
from pathlib import Path

from dhcpd.leases.record import Lease
from dhcpd.leases.store import LeaseStore

from tests.harness.netns import Namespace
from tests.harness.process import Process

READY_LINE = "Server starting service."


def start_server(namespace: Namespace, config_text: str, interfaces: Sequence[str] = (),
                 extra_args: Sequence[str] = (), timeout: float = 20.0) -> Process:
    """Start the server on `interfaces` (none: every link with an address in a declared subnet)."""
    workdir = namespace.workdir / "pydhcpd"
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "dhcpd.conf"
    config_path.write_text(config_text)
    server = namespace.spawn(
        [sys.executable, "-m", "dhcpd", "-f", "-d", "-cf", str(config_path), "--db", database_url(namespace),
         "-pf", str(workdir / "dhcpd.pid"), *extra_args, *interfaces],
        log_path=workdir / "dhcpd.log",
    )
    server.require_log_line(READY_LINE, timeout)
    return server


def database_url(namespace: Namespace) -> str:
    return f"sqlite:///{database_path(namespace)}"


def database_path(namespace: Namespace) -> Path:
    return namespace.workdir / "pydhcpd" / "leases.sqlite"


def stored_leases(namespace: Namespace) -> dict[IPv4Address, Lease]:
    """Every lease in the database of the server started in `namespace`, by address."""
    store = LeaseStore(database_url(namespace))
    try:
        return {lease.ip: lease for lease in store.load_all()}
    finally:
        store.close()
