"""Which links are served, and the ingress context of a received frame.

A link is served when it is up and has an IPv4 address inside a declared subnet, and, when interface names
were given on the command line, it is one of them (as isc-dhcpd). The answer is cached per link and the
cache is dropped whenever the interface table or the configuration changes, so the packet path does one
dictionary read per frame.

Each request is processed once, on the served link. The ETH_P_IP socket already hears a frame once, on the
top device of a stack (VLAN device, bridge, bond master); a bridge port or bond slave is mapped to its
master by the interface table. Two places still hear a copy: a broadcast into a macvlan's lower device is
also delivered to each macvlan child, and a tagged frame on a trunk reaches both the trunk socket and a
kernel VLAN device for that tag, if one exists. In both cases the served link wins, and when both are
served the lower device and the VLAN device win; the other copy is dropped by reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Interface

from dhcpd.config.trunks import ServedVlan, TrunkKey
from dhcpd.engine.network import SubnetMap
from dhcpd.engine.types import Ingress
from dhcpd.net.interfaces import InterfaceTable, Link
from dhcpd.net.rawsock import PACKET_HOST


@dataclass(frozen=True, slots=True)
class ServedLink:
    link: Link
    addresses: tuple[IPv4Interface, ...]
    lower_served: bool      # a macvlan child whose lower device is served: broadcasts are that device's
    # What the engine is told of every request received here, made once with the rest, not per frame (a NamedTuple
    # costs about 3,400 instructions to make, callgrind).
    ingress: Ingress


class ServedLinks:
    def __init__(self, table: InterfaceTable, subnets: SubnetMap, names: frozenset[str] = frozenset(),
                 trunk_vlans: Mapping[TrunkKey, ServedVlan] | None = None) -> None:
        self.table = table
        self.subnets = subnets
        self.names = names
        self.trunk_vlans = dict(trunk_vlans or {})
        self._served: dict[int, ServedLink | str] = {}

    def invalidate(self, subnets: SubnetMap | None = None,
                   trunk_vlans: Mapping[TrunkKey, ServedVlan] | None = None) -> None:
        if subnets is not None:
            self.subnets = subnets
        if trunk_vlans is not None:
            self.trunk_vlans = dict(trunk_vlans)
        self._served.clear()

    def trunk_names(self) -> set[str]:
        return {vlan.trunk for vlan in self.trunk_vlans.values()}

    def why_not_served(self, link: Link) -> str | None:
        """None when the link is served, else the reason in a few words."""
        if self.names and link.name not in self.names:
            return "not named on the command line"
        if not link.up:
            return "down"
        if not any(self.subnets.subnet_for(address.ip) for address in link.addresses):
            return "no address in a declared subnet"
        return None

    def resolve(self, ifindex: int, pkttype: int = PACKET_HOST) -> ServedLink | str:
        """The served link a frame received on `ifindex` belongs to, or a drop reason."""
        served = self._served.get(ifindex)
        if served is None:
            served = self._served[ifindex] = self._resolve(ifindex)
        if isinstance(served, ServedLink) and served.lower_served and pkttype != PACKET_HOST:
            return "copy-on-macvlan-child"
        return served

    def _resolve(self, ifindex: int) -> ServedLink | str:
        link = self.table.served_link(ifindex)
        if link is None:
            return "unknown-interface"
        if self.why_not_served(link) is not None:
            return "link-not-served"
        lower = self.table.by_index(link.lower) if link.kind == "macvlan" and link.lower else None
        lower_served = lower is not None and self.why_not_served(lower) is None
        ingress = Ingress(link.name, link.index, link.addresses, link.vlan_id)
        return ServedLink(link, link.addresses, lower_served, ingress)

    def resolve_trunk(self, trunk_index: int, trunk: str, vlan: int, inner_vlan: int | None) -> ServedVlan | str:
        """The trunk VLAN a tagged frame on trunk `trunk` belongs to, or a drop reason."""
        served = self.trunk_vlans.get((trunk, vlan, inner_vlan))
        if served is None:
            return "trunk-vlan-not-served"
        device = self.table.vlan_device(trunk_index, vlan)
        if device is not None and self.why_not_served(device) is None:
            return "served-by-vlan-device"
        return served
