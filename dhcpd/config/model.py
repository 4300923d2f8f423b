"""The configuration model: scopes with isc-dhcpd's inheritance, filled by the dhcpd.conf reader.

Every declaration (global, shared-network, subnet, pool, group, host, class) is a `Scope`. A scope holds
the parameters and options written in it and points to its parent, so a lookup walks outwards exactly as
isc-dhcpd does (host > class > pool > subnet > shared-network > group > global). Option values are stored
already encoded to their wire bytes, keyed by option code, so the engine never parses text.

A configuration of thousands of subnets holds thousands of scopes, so they have slots, and once the reader
is done (`share_empty_containers`) every empty dict or list of a scope is one shared read-only empty value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from ipaddress import IPv4Address, IPv4Network
from types import MappingProxyType
from typing import Any

EMPTY_MAPPING: MappingProxyType = MappingProxyType({})


@dataclass(eq=False, slots=True)
class Scope:
    """Parameters (by isc keyword, e.g. "default-lease-time", "authoritative") and encoded options."""

    parent: Scope | None = None
    params: dict[str, Any] = field(default_factory=dict)
    options: dict[int, bytes] = field(default_factory=dict)
    file: str = ""
    line: int = 0
    # `option NAME = EXPR;`: expressions the engine evaluates per request (dhcpd.config.expressions), by code
    option_expressions: dict[int, Any] = field(default_factory=dict)
    # options of other spaces (`option SPACE.NAME value;`), encoded, by space name then code
    space_options: dict[str, dict[int, bytes]] = field(default_factory=dict)
    # `if` / `elsif` / `else` blocks written in this scope, in order
    conditionals: list[Conditional] = field(default_factory=list)

    def param(self, name: str, default: Any = None) -> Any:
        """The innermost value of a parameter, walking out through the parents."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.params:
                return scope.params[name]
            scope = scope.parent
        return default

    def chain(self) -> Iterator[Scope]:
        """This scope, then each parent out to the global scope."""
        scope: Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent

    def effective_options(self) -> dict[int, bytes]:
        """Options visible here, inner scopes overriding outer ones."""
        merged: dict[int, bytes] = {}
        for scope in reversed(list(self.chain())):
            merged.update(scope.options)
        return merged


@dataclass(eq=False, slots=True)
class Conditional:
    """One `if EXPR { } elsif EXPR { } else { }` chain: the first branch whose expression is true applies.

    Each branch is (expression, scope); the `else` branch has expression None. Branch scopes have the
    scope the chain was written in as their parent.
    """

    branches: list[tuple[Any, Scope]] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class AddressRange:
    first: IPv4Address
    last: IPv4Address
    dynamic_bootp: bool = False
    file: str = ""
    line: int = 0

    def __contains__(self, address: IPv4Address) -> bool:
        return self.first <= address <= self.last

    def __len__(self) -> int:
        return int(self.last) - int(self.first) + 1


@dataclass(eq=False, slots=True)
class Pool(Scope):
    """A set of ranges inside a subnet (an explicit `pool { }`, or the subnet's own bare `range`s)."""

    ranges: list[AddressRange] = field(default_factory=list)
    # ("allow" | "deny", "known-clients" | "unknown-clients" | "all clients" | ("members of", class name))
    permits: list[tuple[str, Any]] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Subnet(Scope):
    network: IPv4Network = IPv4Network("0.0.0.0/32")
    pools: list[Pool] = field(default_factory=list)
    shared_network: SharedNetwork | None = None

    # the network as text ("10.0.0.0/24"): made once, and shared by every lease of the subnet
    id: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.id = str(self.network)


@dataclass(eq=False, slots=True)
class SharedNetwork(Scope):
    name: str = ""
    subnets: list[Subnet] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Group(Scope):
    pass


@dataclass(eq=False, slots=True)
class Host(Scope):
    name: str = ""
    hardware: bytes | None = None          # MAC for `hardware ethernet`
    hardware_type: int = 1
    client_id: bytes | None = None         # from `option dhcp-client-identifier` in the host
    fixed_addresses: list[IPv4Address] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class ClientClass(Scope):
    name: str = ""
    match: Any = None                      # parsed expression from `match if` / `match`, evaluated by the engine
    match_is_key: bool = False             # `match EXPR;`: its value is the key into `subclasses`
    spawn: Any = None
    lease_limit: int | None = None
    subclasses: dict[bytes, Scope] = field(default_factory=dict)


def share_empty_containers(scopes: Iterable[Scope]) -> None:
    """Give every empty dict and list of these scopes one shared read-only empty value instead (nothing changes
    a scope once it is read: a changed configuration is a new one)."""
    for scope in scopes:
        for item in fields(scope):
            value = getattr(scope, item.name)
            if not value and isinstance(value, (dict, list)):
                setattr(scope, item.name, EMPTY_MAPPING if isinstance(value, dict) else ())


@dataclass(eq=False)
class Config:
    root: Scope = field(default_factory=Scope)
    shared_networks: list[SharedNetwork] = field(default_factory=list)
    subnets: list[Subnet] = field(default_factory=list)
    hosts: list[Host] = field(default_factory=list)
    classes: list[ClientClass] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # accepted-but-meaningless statements, logged once
    source: str = ""

    def subnet_for(self, address: IPv4Address) -> Subnet | None:
        """The declared subnet that contains an address (most specific first)."""
        best: Subnet | None = None
        for subnet in self.subnets:
            if address in subnet.network and (best is None or subnet.network.prefixlen > best.network.prefixlen):
                best = subnet
        return best
