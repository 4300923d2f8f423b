"""Checks that need the whole configuration: ranges inside their subnets, no address in two subnets or two
ranges, and pools written directly in a shared-network placed in the subnet their ranges belong to.

isc-dhcpd allows a host's fixed-address outside every declared subnet (the host is then served nowhere),
so that is not a problem here either.
"""

from __future__ import annotations

from dhcpd.config.errors import ConfigProblem
from dhcpd.config.model import AddressRange, Config, Pool, SharedNetwork, Subnet


def place_shared_pools(shared_pools: list[tuple[SharedNetwork, Pool]]) -> list[ConfigProblem]:
    """Give each shared-network pool to the subnet holding its first range; that subnet becomes its parent."""
    problems = []
    for network, pool in shared_pools:
        first = pool.ranges[0]
        subnet = next((subnet for subnet in network.subnets if first.first in subnet.network), None)
        if subnet is None:
            problems.append(ConfigProblem(first.file, first.line, f"range {first.first} {first.last} is not in "
                                                                  f"any subnet of shared-network {network.name}"))
            continue
        pool.parent = subnet
        subnet.pools.append(pool)
    return problems


def check_subnets_and_ranges(config: Config) -> list[ConfigProblem]:
    return _ranges_outside_subnets(config.subnets) + _overlapping_subnets(config.subnets) + _overlapping_ranges(config.subnets)


def _ranges_outside_subnets(subnets: list[Subnet]) -> list[ConfigProblem]:
    problems = []
    for subnet in subnets:
        for pool in subnet.pools:
            for address_range in pool.ranges:
                if address_range.first not in subnet.network or address_range.last not in subnet.network:
                    problems.append(ConfigProblem(address_range.file, address_range.line,
                                                  f"range {address_range.first} {address_range.last} is not "
                                                  f"within subnet {subnet.network}"))
    return problems


def _overlapping_subnets(subnets: list[Subnet]) -> list[ConfigProblem]:
    problems = []
    widest: Subnet | None = None
    widest_last = -1
    for subnet in sorted(subnets, key=lambda subnet: (subnet.network.network_address, subnet.line)):
        first = int(subnet.network.network_address)
        if widest is not None and first <= widest_last:
            problems.append(ConfigProblem(subnet.file, subnet.line, f"subnet {subnet.network} overlaps subnet "
                                                                    f"{widest.network} ({widest.file} line {widest.line})"))
        # the broadcast address as a number: `broadcast_address` would cache an address object in every network
        last = first | (0xFFFFFFFF >> subnet.network.prefixlen)
        if last > widest_last:
            widest, widest_last = subnet, last
    return problems


def _overlapping_ranges(subnets: list[Subnet]) -> list[ConfigProblem]:
    problems = []
    ranges = [address_range for subnet in subnets for pool in subnet.pools for address_range in pool.ranges]
    reaching: AddressRange | None = None
    for address_range in sorted(ranges, key=lambda address_range: (address_range.first, address_range.line)):
        if reaching is not None and address_range.first <= reaching.last:
            problems.append(ConfigProblem(address_range.file, address_range.line,
                                          f"range {address_range.first} {address_range.last} overlaps range "
                                          f"{reaching.first} {reaching.last} ({reaching.file} line {reaching.line})"))
        if reaching is None or address_range.last > reaching.last:
            reaching = address_range
    return problems
