"""Which subnets a request may be served from, and which of our addresses answers it.

isc-dhcpd's rule: the network segment is found from option 118 (subnet selection), else option 82
sub-option 5 (link selection), else giaddr, else the addresses of the interface the request came in on.
The subnet found, together with every subnet of its shared-network, is where the client may get an
address. Lookups are dictionary reads keyed by masked address, one per distinct prefix length.
"""

from __future__ import annotations

from typing import NamedTuple
from ipaddress import IPv4Address, IPv4Interface

from dhcpd.config.model import Config, Subnet
from dhcpd.engine.types import Ingress
from dhcpd.wire.addresses import address_value
from dhcpd.wire.message import ZERO, DhcpMessage

OPTION_SUBNET_SELECTION = 118
OPTION_RELAY_AGENT = 82
SUBOPTION_LINK_SELECTION = 5


class Segment(NamedTuple):
    """The subnets one request may use, in preference order, and the address that selected them."""

    subnets: tuple[Subnet, ...]
    selector: IPv4Address
    relayed: bool


class SubnetMap:
    """Subnet lookup by address in O(number of distinct prefix lengths)."""

    def __init__(self, config: Config) -> None:
        self._by_prefix: dict[int, dict[int, Subnet]] = {}
        for subnet in config.subnets:
            table = self._by_prefix.setdefault(subnet.network.prefixlen, {})
            table[int(subnet.network.network_address)] = subnet
        self._prefixes = sorted(self._by_prefix, reverse=True)
        self._masks = {p: (0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF for p in self._prefixes}

    def subnet_for(self, address: IPv4Address) -> Subnet | None:
        value = address_value(address)
        for prefix in self._prefixes:
            subnet = self._by_prefix[prefix].get(value & self._masks[prefix])
            if subnet is not None:
                return subnet
        return None


def segment_members(subnet: Subnet) -> tuple[Subnet, ...]:
    """The subnet first, then the other subnets of its shared-network."""
    if subnet.shared_network is None:
        return (subnet,)
    others = tuple(s for s in subnet.shared_network.subnets if s is not subnet)
    return (subnet, *others)


def relay_selector(message: DhcpMessage, agent: dict[int, bytes]) -> IPv4Address | None:
    """The address a relay or client asked us to select the subnet by (118, then 82.5), if any."""
    selection = message.options.get(OPTION_SUBNET_SELECTION)
    if selection is not None and len(selection) == 4:
        return IPv4Address(selection)
    link = agent.get(SUBOPTION_LINK_SELECTION)
    if link is not None and len(link) == 4:
        return IPv4Address(link)
    return None


def find_segment(
    message: DhcpMessage, ingress: Ingress, agent: dict[int, bytes], subnets: SubnetMap
) -> Segment | None:
    """The segment of a request, or None when it comes from a network we do not serve."""
    selector = relay_selector(message, agent)
    relayed = message.giaddr != ZERO
    if selector is None and relayed:
        selector = message.giaddr
    if selector is not None:
        subnet = subnets.subnet_for(selector)
        return Segment(segment_members(subnet), selector, relayed) if subnet is not None else None
    for interface in ingress.addresses:
        subnet = subnets.subnet_for(interface.ip)
        if subnet is not None:
            return Segment(segment_members(subnet), interface.ip, False)
    return None


def server_address(segment: Segment, ingress: Ingress) -> IPv4Address | None:
    """Our address for this request: `server-identifier` if configured, else the ingress address in the
    segment's first subnet, else the ingress link's first address."""
    configured = segment.subnets[0].param("server-identifier")
    if configured is not None:
        return configured
    return address_on_link(ingress.addresses, segment.subnets)


def address_on_link(addresses: tuple[IPv4Interface, ...], subnets: tuple[Subnet, ...]) -> IPv4Address | None:
    for subnet in subnets:
        for interface in addresses:
            if interface.ip in subnet.network:
                return interface.ip
    return addresses[0].ip if addresses else None
