"""Client classes and `if` blocks, evaluated once per request against a PacketView.

isc-dhcpd's class semantics as implemented here:
- `match if EXPR;` makes a client a member when EXPR is true; with `spawn with KEY;` as well, each distinct
  non-empty KEY value gets its own subclass (created on first sight, kept until the next reconfiguration),
  so a `lease limit` counts per subclass (e.g. per circuit-id).
- `match KEY;` makes a client a member when KEY's value names one of the class's `subclass` declarations.
- A subclass member is also a member of its class (`allow members of "class"` admits it).
`if` / `elsif` / `else` branches that hold apply in front of the scope they were written in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dhcpd.config.expressions import PacketView, evaluate
from dhcpd.config.model import ClientClass, Scope
from dhcpd.wire.message import DhcpMessage


@dataclass(frozen=True, slots=True)
class Membership:
    """A request's membership of one class: the scope that applies (subclass or class) and the subclass key."""

    client_class: ClientClass
    scope: Scope
    key: bytes | None = None

    @property
    def billing_key(self) -> tuple[str, bytes | None]:
        return (self.client_class.name, self.key)


def packet_view(message: DhcpMessage, agent: dict[int, bytes], known: bool) -> PacketView:
    return PacketView(options=message.options, htype=message.htype, chaddr=message.chaddr, known=known,
                      agent_options=agent)


class Classifier:
    """The configured classes, plus the subclasses `spawn with` created so far."""

    def __init__(self, classes: Iterable[ClientClass]) -> None:
        self.classes = list(classes)
        self.spawned: dict[tuple[str, bytes], Scope] = {}

    def classify(self, packet: PacketView) -> tuple[Membership, ...]:
        found = (self._membership(client_class, packet) for client_class in self.classes)
        return tuple(membership for membership in found if membership is not None)

    def _membership(self, client_class: ClientClass, packet: PacketView) -> Membership | None:
        if client_class.match is None:
            return None
        if client_class.match_is_key:
            key = evaluate(client_class.match, packet)
            scope = client_class.subclasses.get(key) if isinstance(key, bytes) else None
            return Membership(client_class, scope, key) if scope is not None else None
        if evaluate(client_class.match, packet) is not True:
            return None
        if client_class.spawn is None:
            return Membership(client_class, client_class)
        key = evaluate(client_class.spawn, packet)
        if not isinstance(key, bytes) or not key:
            return Membership(client_class, client_class)
        declared = client_class.subclasses.get(key)
        if declared is not None:
            return Membership(client_class, declared, key)
        scope = self.spawned.setdefault((client_class.name, key), Scope(parent=client_class))
        return Membership(client_class, scope, key)


def with_conditionals(scopes: Iterable[Scope], packet: PacketView) -> list[Scope]:
    """The scopes, innermost first, each preceded by the branches of its `if` blocks that hold."""
    expanded: list[Scope] = []
    for scope in scopes:
        expanded.extend(_chosen_branches(scope, packet))
        expanded.append(scope)
    return expanded


def _chosen_branches(scope: Scope, packet: PacketView) -> list[Scope]:
    chosen: list[Scope] = []
    for conditional in reversed(scope.conditionals):  # a later block overrides an earlier one
        for expression, branch in conditional.branches:
            if expression is None or evaluate(expression, packet) is True:
                chosen.extend(_chosen_branches(branch, packet))
                chosen.append(branch)
                break
    return chosen
