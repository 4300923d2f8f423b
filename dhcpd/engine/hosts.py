"""Host declarations (reservations) by client identifier, by MAC and by relay circuit id, and fixed-address
lookups.

isc-dhcpd matches a host by `option dhcp-client-identifier` first, then by `hardware ethernet`; reservations
made through the API may also name the relay agent's circuit id (option 82 sub-option 1), matched last. A
host is "known" wherever it matches; its fixed address is used only on a segment whose subnets contain it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address

from dhcpd.config.model import Host, Subnet


@dataclass(eq=False)
class CircuitHost(Host):
    """A host that may also be matched by the circuit id its relay agent reports."""

    circuit_id: bytes | None = None


class HostIndex:
    def __init__(self, hosts: Iterable[Host]) -> None:
        self._by_client_id: dict[bytes, list[Host]] = {}
        self._by_mac: dict[bytes, list[Host]] = {}
        self._by_circuit_id: dict[bytes, list[Host]] = {}
        self.reserved: dict[IPv4Address, Host] = {}
        for host in hosts:
            if host.client_id is not None:
                self._by_client_id.setdefault(host.client_id, []).append(host)
            if host.hardware is not None:
                self._by_mac.setdefault(host.hardware, []).append(host)
            if isinstance(host, CircuitHost) and host.circuit_id is not None:
                self._by_circuit_id.setdefault(host.circuit_id, []).append(host)
            for address in host.fixed_addresses:
                self.reserved[address] = host
        self.declared = bool(self._by_client_id or self._by_mac or self._by_circuit_id)  # can any host match?

    def matching(self, client_id: bytes | None, mac: bytes, circuit_id: bytes | None = None) -> list[Host]:
        """Hosts declared for this client: client-identifier matches first, then MAC, then circuit id."""
        found: list[Host] = []
        if client_id is not None:
            found.extend(self._by_client_id.get(client_id, ()))
        found.extend(h for h in self._by_mac.get(mac, ()) if h.client_id is None or h.client_id == client_id)
        if circuit_id is not None:
            found.extend(h for h in self._by_circuit_id.get(circuit_id, ()) if h not in found)
        return found

    def fixed_address(self, hosts: list[Host], subnets: tuple[Subnet, ...]) -> tuple[Host, IPv4Address] | None:
        """The first fixed address of these hosts that lies in one of the segment's subnets."""
        for host in hosts:
            for address in host.fixed_addresses:
                if any(address in subnet.network for subnet in subnets):
                    return host, address
        return None

    def reserved_for_other(self, address: IPv4Address, hosts: list[Host]) -> bool:
        owner = self.reserved.get(address)
        return owner is not None and owner not in hosts
