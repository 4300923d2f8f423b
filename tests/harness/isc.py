"""isc-dhcpd as a reference server inside a namespace: the harness's known-good peer and the differential baseline."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from tests.harness.netns import Namespace
from tests.harness.process import Process

READY_LINE = "Server starting service."


@dataclass(frozen=True)
class IscSubnet:
    """One `subnet` declaration with a single dynamic range and the subnet's first address as router."""

    network: IPv4Network
    first: IPv4Address
    last: IPv4Address

    def declaration(self) -> str:
        router = next(self.network.hosts())
        return (
            f"subnet {self.network.network_address} netmask {self.network.netmask} {{\n"
            f"  range {self.first} {self.last};\n"
            f"  option routers {router};\n"
            f"}}\n"
        )


def isc_config(subnets: Iterable[IscSubnet], lease_seconds: int = 600) -> str:
    """A complete dhcpd.conf serving `subnets` authoritatively."""
    header = (
        "authoritative;\n"
        f"default-lease-time {lease_seconds};\n"
        f"max-lease-time {lease_seconds};\n"
        "ddns-update-style none;\n"
        "ping-check false;\n"
    )
    return header + "".join(subnet.declaration() for subnet in subnets)


def start_isc_dhcpd(
    namespace: Namespace, config_text: str, interfaces: Sequence[str], timeout: float = 15.0
) -> Process:
    """Run `dhcpd -4 -f -d` on `interfaces` with its own conf, lease and pid files; wait until it serves."""
    workdir = namespace.workdir / "isc-dhcpd"
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "dhcpd.conf"
    leases_path = workdir / "dhcpd.leases"
    config_path.write_text(config_text)
    leases_path.touch()
    server = namespace.spawn(
        ["dhcpd", "-4", "-f", "-d", "-cf", str(config_path), "-lf", str(leases_path),
         "-pf", str(workdir / "dhcpd.pid"), *interfaces],
        log_path=workdir / "dhcpd.log",
    )
    server.require_log_line(READY_LINE, timeout)
    return server
