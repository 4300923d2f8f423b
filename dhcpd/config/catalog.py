"""The option names a configuration can use: isc's standard spaces plus the spaces and codes it defines.

Each parse gets its own catalog, so `option NAME code N = TYPE;` in one file never leaks into another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dhcpd.config.model import Scope
from dhcpd.wire.options import AGENT_OPTIONS, AGENT_SPACE, DHCP_OPTIONS, DHCP_SPACE, OptionDefinition

VENDOR_ENCAPSULATED_OPTIONS = 43


@dataclass
class OptionSpace:
    name: str
    code_width: int = 1
    length_width: int = 1
    by_name: dict[str, OptionDefinition] = field(default_factory=dict)
    by_code: dict[int, OptionDefinition] = field(default_factory=dict)

    def add(self, definition: OptionDefinition) -> None:
        self.by_name[definition.name.lower()] = definition
        self.by_code[definition.code] = definition

    def encapsulate(self, options: dict[int, bytes]) -> bytes:
        """The space's options as one buffer of code/length/value records (e.g. option 43's value)."""
        output = bytearray()
        for code, value in options.items():
            output += code.to_bytes(self.code_width, "big")
            if self.length_width:
                output += len(value).to_bytes(self.length_width, "big")
            output += value
        return bytes(output)


class OptionCatalog:
    """Option spaces by name; names are case-insensitive, `space.name` or a bare name in the dhcp space."""

    def __init__(self) -> None:
        self.spaces: dict[str, OptionSpace] = {}
        for space_name, table in ((DHCP_SPACE, DHCP_OPTIONS), (AGENT_SPACE, AGENT_OPTIONS)):
            space = self.add_space(space_name)
            for definition in table:
                space.add(definition)

    def add_space(self, name: str, code_width: int = 1, length_width: int = 1) -> OptionSpace:
        space = self.spaces.setdefault(name.lower(), OptionSpace(name.lower()))
        space.code_width, space.length_width = code_width, length_width
        return space

    @staticmethod
    def split(qualified_name: str) -> tuple[str, str]:
        """("space", "name") from "space.name", or ("dhcp", name) for a bare name."""
        space, dot, name = qualified_name.lower().rpartition(".")
        return (space, name) if dot else (DHCP_SPACE, name)

    def lookup(self, qualified_name: str) -> OptionDefinition | None:
        space_name, name = self.split(qualified_name)
        space = self.spaces.get(space_name)
        return space.by_name.get(name) if space else None

    def assemble_vendor_options(self, scopes: list[Scope]) -> None:
        """Set option 43 from the `vendor-option-space` options where that space or its options are written.

        A scope that names the space, or writes options of the effective space, gets option 43 built from
        that space's options visible to it (its own over its parents'); other scopes inherit option 43.
        """
        for scope in scopes:
            space_name = scope.param("vendor-option-space")
            if not space_name:
                continue
            space_name = space_name.lower()
            if "vendor-option-space" not in scope.params and space_name not in scope.space_options:
                continue
            space = self.spaces.get(space_name)
            if space is None:
                continue
            merged: dict[int, bytes] = {}
            for outer in reversed(list(scope.chain())):
                merged.update(outer.space_options.get(space_name, {}))
            if merged:
                scope.options[VENDOR_ENCAPSULATED_OPTIONS] = space.encapsulate(merged)
