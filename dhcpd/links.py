"""Which links are served, and the ingress context of a received frame.

A link is served when it is up and has an IPv4 address inside a declared subnet, and, when interface names
were given on the command line, it is one of them (as isc-dhcpd). The answer is cached per link and the
cache is dropped whenever the interface table or the configuration changes, so the packet path does one
dictionary read per frame.
"""

from __future__ import annotations

from ipaddress import IPv4Interface

from dhcpd.engine.network import SubnetMap
from dhcpd.net.interfaces import InterfaceTable, Link


class ServedLinks:
    def __init__(self, table: InterfaceTable, subnets: SubnetMap, names: frozenset[str] = frozenset()) -> None:
        self.table = table
        self.subnets = subnets
        self.names = names
        self._served: dict[int, tuple[Link, tuple[IPv4Interface, ...]] | str] = {}

    def invalidate(self, subnets: SubnetMap | None = None) -> None:
        if subnets is not None:
            self.subnets = subnets
        self._served.clear()

    def why_not_served(self, link: Link) -> str | None:
        """None when the link is served, else the reason in a few words."""
        if self.names and link.name not in self.names:
            return "not named on the command line"
        if not link.up:
            return "down"
        if not any(self.subnets.subnet_for(address.ip) for address in link.addresses):
            return "no address in a declared subnet"
        return None

    def resolve(self, ifindex: int) -> tuple[Link, tuple[IPv4Interface, ...]] | str:
        """The served link a frame received on `ifindex` belongs to, with its addresses, or a drop reason."""
        cached = self._served.get(ifindex)
        if cached is not None:
            return cached
        link = self.table.served_link(ifindex)
        if link is None:
            result: tuple[Link, tuple[IPv4Interface, ...]] | str = "unknown-interface"
        else:
            why = self.why_not_served(link)
            result = "link-not-served" if why is not None else (link, tuple(link.addresses))
        self._served[ifindex] = result
        return result
