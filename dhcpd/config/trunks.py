"""Trunk mode in dhcpd.conf: tagged VLANs served on an interface that has no kernel VLAN devices.

    trunk eth1 {
        vlan 100 {                                   # 802.1Q id 100
            subnet 10.100.0.0 netmask 255.255.255.0 {
                server-address 10.100.0.1;           # our address on that VLAN: reply source, server id
                range 10.100.0.10 10.100.0.200;
            }
        }
        vlan 200 inner 300 { subnet ... { server-address ...; } }   # QinQ: 802.1ad 200, then 802.1Q 300
    }

A `vlan` block is a group scope, so everything a group may hold (subnets, shared-networks, hosts, options)
may stand in it; its subnets are ordinary subnets of the configuration. `trunk_vlans(config)` maps
(trunk, vlan, inner vlan) to what the I/O layer needs. isc-dhcpd does not know this statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from typing import TYPE_CHECKING

from dhcpd.config.errors import ConfigError, ConfigProblem
from dhcpd.config.lexer import Kind, Token
from dhcpd.config.model import Config, Group, Scope, Subnet
from dhcpd.config.option_values import read_integer

if TYPE_CHECKING:
    from dhcpd.config.parser import _Reader

SERVER_ADDRESS = "server-address"
HIGHEST_VLAN_ID = 4094
TrunkKey = tuple[str, int, "int | None"]


@dataclass(eq=False, slots=True)
class TrunkVlan(Group):
    """The scope of one `vlan ID [inner ID] { }` block inside `trunk NAME { }`."""

    trunk: str = ""
    vlan: int = 0
    inner_vlan: int | None = None

    @property
    def key(self) -> TrunkKey:
        return (self.trunk, self.vlan, self.inner_vlan)

    @property
    def label(self) -> str:
        """How the VLAN is named in logs, statistics and leases: `eth1/100` or `eth1/200/300`."""
        tags = (self.vlan,) if self.inner_vlan is None else (self.vlan, self.inner_vlan)
        return "/".join([self.trunk, *map(str, tags)])


@dataclass(frozen=True)
class ServedVlan:
    """A trunk VLAN as the I/O layer serves it: its label and our address in each of its subnets."""

    trunk: str
    vlan: int
    inner_vlan: int | None
    label: str
    addresses: tuple[IPv4Interface, ...]


def parse_trunk(reader: _Reader, scope: Scope, token: Token) -> None:
    """The `trunk NAME { vlan ... { } ... }` statement (a parser handler). A bad `vlan` entry is recorded as
    a problem and skipped here, inside the trunk, so the trunk's closing brace is never left dangling."""
    tokens = reader.tokens
    name = tokens.name("a trunk interface name")
    opening = tokens.expect("{")
    while not tokens.accept("}"):
        if tokens.peek().kind is Kind.END:
            raise tokens.error(opening, f"the trunk {name.text} block opened here is never closed with '}}'")
        try:
            _vlan_block(reader, scope, name.text, opening)
        except ConfigError as error:
            reader.problems += error.problems
            tokens.skip_statement()


def _vlan_block(reader: _Reader, scope: Scope, trunk: str, opening: Token) -> None:
    tokens = reader.tokens
    vlan_token = tokens.next()
    if vlan_token.text.lower() != "vlan":
        raise tokens.error(vlan_token, f"expected vlan or '}}' in trunk {trunk} (opened at line {opening.line}), "
                                       f"found {vlan_token.describe()}")
    vlan = _vlan_id(reader)
    inner = _vlan_id(reader) if tokens.accept("inner") else None
    block = TrunkVlan(parent=scope, trunk=trunk, vlan=vlan, inner_vlan=inner)
    reader.block(reader.new_scope(block, vlan_token))


def _vlan_id(reader: _Reader) -> int:
    token = reader.tokens.peek()
    number = read_integer(reader.tokens, 16, signed=False)
    if not 1 <= number <= HIGHEST_VLAN_ID:
        raise reader.tokens.error(token, f"VLAN id {number} is not between 1 and {HIGHEST_VLAN_ID}")
    return number


def trunk_vlan_of(subnet: Subnet) -> TrunkVlan | None:
    return next((scope for scope in subnet.chain() if isinstance(scope, TrunkVlan)), None)


def collect_trunk_vlans(config: Config) -> tuple[dict[TrunkKey, ServedVlan], list[ConfigProblem]]:
    """Every trunk VLAN with our addresses on it, and the problems: a VLAN declared twice on one trunk, a
    trunk subnet without server-address or with one outside the subnet, a server-address outside any trunk."""
    blocks: dict[TrunkKey, TrunkVlan] = {}
    addresses: dict[TrunkKey, list[IPv4Interface]] = {}
    problems: list[ConfigProblem] = []
    for subnet in config.subnets:
        block = trunk_vlan_of(subnet)
        address: IPv4Address | None = subnet.params.get(SERVER_ADDRESS)
        if block is None:
            if address is not None:
                problems.append(ConfigProblem(subnet.file, subnet.line, f"subnet {subnet.network}: "
                                              f"{SERVER_ADDRESS} is only used in a subnet inside trunk {{ vlan {{ }} }}"))
            continue
        known = blocks.setdefault(block.key, block)
        if known is not block:
            problems.append(ConfigProblem(block.file, block.line, f"vlan {block.label} is already declared at "
                                          f"{known.file} line {known.line}"))
        elif address is None:
            problems.append(ConfigProblem(subnet.file, subnet.line, f"subnet {subnet.network} on trunk vlan "
                                          f"{block.label} needs {SERVER_ADDRESS} (our address on that VLAN)"))
        elif address not in subnet.network or address in (subnet.network.network_address,
                                                          subnet.network.broadcast_address):
            problems.append(ConfigProblem(subnet.file, subnet.line, f"{SERVER_ADDRESS} {address} is not a host "
                                          f"address of subnet {subnet.network}"))
        else:
            addresses.setdefault(block.key, []).append(IPv4Interface((address, subnet.network.prefixlen)))
    vlans = {key: ServedVlan(*key, blocks[key].label, tuple(found)) for key, found in addresses.items()}
    return vlans, problems


def trunk_vlans(config: Config) -> dict[TrunkKey, ServedVlan]:
    """(trunk name, vlan id, inner vlan id or None) -> the VLAN served there, for a configuration that loaded."""
    return collect_trunk_vlans(config)[0]
