"""dhcp-eval(5) expressions: parsed into a small tree, and a pure evaluator the engine runs per packet.

Data expressions give bytes, or None where isc gives null (a missing option); numeric ones give int;
boolean ones give bool (a null operand makes a comparison false). `~=` is a case-sensitive regular
expression search, `~~` a case-insensitive one, as dhcp-eval(5) says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Union

from dhcpd.config.lexer import Kind, Token, Tokens
from dhcpd.config.option_values import parse_hex
from dhcpd.wire.options import AGENT_SPACE, DHCP_SPACE

COMPARISONS = ("=", "!=", "~=", "~~")
INTEGER_WIDTHS_IN_BITS = (8, 16, 32)
# function name -> number of arguments (None: one or more)
FUNCTION_ARITY: dict[str, int | None] = {
    "substring": 3, "suffix": 2, "concat": None, "binary-to-ascii": 4, "encode-int": 2, "extract-int": 2,
    "pick-first-value": None, "lcase": 1, "ucase": 1, "reverse": 2,
}


@dataclass(frozen=True)
class Literal:
    value: bytes


@dataclass(frozen=True)
class Number:
    value: int


@dataclass(frozen=True)
class OptionValue:
    space: str
    code: int
    name: str


@dataclass(frozen=True)
class Exists:
    option: OptionValue


@dataclass(frozen=True)
class Hardware:
    pass


@dataclass(frozen=True)
class Known:
    pass


@dataclass(frozen=True)
class Call:
    function: str
    arguments: tuple[Expression, ...]


@dataclass(frozen=True)
class Compare:
    operator: str
    left: Expression
    right: Expression
    pattern: re.Pattern[str] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Logical:
    operator: str                       # "and" | "or"
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Not:
    operand: Expression


Expression = Union[Literal, Number, OptionValue, Exists, Hardware, Known, Call, Compare, Logical, Not]
OptionResolver = Callable[[Token], OptionValue]


@dataclass
class PacketView:
    """What an expression may look at in a request: its options, hardware address, relay sub-options."""

    options: dict[int, bytes] = field(default_factory=dict)
    htype: int = 1
    chaddr: bytes = b""
    known: bool = False
    agent_options: dict[int, bytes] = field(default_factory=dict)


def parse_expression(tokens: Tokens, resolve_option: OptionResolver) -> Expression:
    """An expression at the cursor; `resolve_option` turns an option name token into an OptionValue."""
    return _ExpressionParser(tokens, resolve_option).disjunction()


class _ExpressionParser:
    def __init__(self, tokens: Tokens, resolve_option: OptionResolver) -> None:
        self.tokens = tokens
        self.resolve_option = resolve_option

    def disjunction(self) -> Expression:
        expression = self.conjunction()
        while self.tokens.accept("or"):
            expression = Logical("or", expression, self.conjunction())
        return expression

    def conjunction(self) -> Expression:
        expression = self.negation()
        while self.tokens.accept("and"):
            expression = Logical("and", expression, self.negation())
        return expression

    def negation(self) -> Expression:
        if self.tokens.accept("not"):
            return Not(self.negation())
        return self.comparison()

    def comparison(self) -> Expression:
        left = self.primary()
        operator_token = self.tokens.accept(*COMPARISONS)
        if operator_token is None:
            return left
        right = self.primary()
        if operator_token.text in ("~=", "~~"):
            return Compare(operator_token.text, left, right, self.pattern(operator_token, right))
        return Compare(operator_token.text, left, right)

    def pattern(self, operator_token: Token, right: Expression) -> re.Pattern[str]:
        if not isinstance(right, Literal):
            raise self.tokens.error(operator_token, f"the right side of {operator_token.text} must be a quoted regular expression")
        flags = re.IGNORECASE if operator_token.text == "~~" else 0
        try:
            return re.compile(right.value.decode("latin-1"), flags)
        except re.error as error:
            raise self.tokens.error(operator_token, f"bad regular expression: {error}") from None

    def primary(self) -> Expression:
        tokens = self.tokens
        token = tokens.peek()
        if tokens.accept("("):
            expression = self.disjunction()
            tokens.expect(")")
            return expression
        if token.kind is Kind.STRING:
            tokens.next()
            return Literal(token.text.encode("utf-8"))
        if token.kind is not Kind.WORD:
            raise tokens.error(token, f"expected an expression, found {token.describe()}")
        word = token.text.lower()
        tokens.next()
        if word == "option":
            return self.resolve_option(tokens.word("an option name"))
        if word == "exists":
            return Exists(self.resolve_option(tokens.word("an option name")))
        if word == "hardware":
            return Hardware()
        if word == "known":
            return Known()
        if word in FUNCTION_ARITY:
            return self.call(token, word)
        if word.isdigit():
            return Number(int(word))
        if ":" in word or all(char in "0123456789abcdef" for char in word):
            return Literal(parse_hex(tokens, token))
        raise tokens.error(token, f"{token.text} is not supported in expressions")

    def call(self, token: Token, function: str) -> Call:
        self.tokens.expect("(")
        arguments = [self.disjunction()]
        while self.tokens.accept(","):
            arguments.append(self.disjunction())
        self.tokens.expect(")")
        arity = FUNCTION_ARITY[function]
        if arity is not None and len(arguments) != arity:
            raise self.tokens.error(token, f"{function} takes {arity} arguments, not {len(arguments)}")
        return Call(function, tuple(arguments))


def evaluate(expression: Expression, packet: PacketView) -> bytes | bool | int | None:
    """The value of an expression for one packet (bytes, int, bool, or None for isc's null)."""
    if isinstance(expression, Literal):
        return expression.value
    if isinstance(expression, Number):
        return expression.value
    if isinstance(expression, OptionValue):
        return _option(expression, packet)
    if isinstance(expression, Exists):
        return _option(expression.option, packet) is not None
    if isinstance(expression, Hardware):
        return bytes([packet.htype]) + packet.chaddr
    if isinstance(expression, Known):
        return packet.known
    if isinstance(expression, Not):
        return not _truth(evaluate(expression.operand, packet))
    if isinstance(expression, Logical):
        left = _truth(evaluate(expression.left, packet))
        if expression.operator == "and":
            return left and _truth(evaluate(expression.right, packet))
        return left or _truth(evaluate(expression.right, packet))
    if isinstance(expression, Compare):
        return _compare(expression, packet)
    return _call(expression, packet)


def _option(reference: OptionValue, packet: PacketView) -> bytes | None:
    if reference.space == DHCP_SPACE:
        return packet.options.get(reference.code)
    if reference.space == AGENT_SPACE:
        return packet.agent_options.get(reference.code)
    return None


def _truth(value: bytes | bool | int | None) -> bool:
    return value is True or (isinstance(value, int) and not isinstance(value, bool) and value != 0)


def _compare(expression: Compare, packet: PacketView) -> bool:
    left = evaluate(expression.left, packet)
    if left is None:
        return False
    if expression.pattern is not None:
        if not isinstance(left, bytes):
            return False
        return expression.pattern.search(left.decode("latin-1")) is not None
    right = evaluate(expression.right, packet)
    if right is None:
        return False
    return (left == right) == (expression.operator == "=")


def _call(expression: Call, packet: PacketView) -> bytes | int | None:
    values = [evaluate(argument, packet) for argument in expression.arguments]
    function = expression.function
    if function == "pick-first-value":
        return next((value for value in values if value is not None), None)  # type: ignore[return-value]
    if any(value is None for value in values):
        return None
    if function == "substring":
        data, offset, length = values
        return data[offset:offset + length]  # type: ignore[index,operator]
    if function == "suffix":
        data, length = values
        return data[max(len(data) - length, 0):]  # type: ignore[arg-type,operator,index]
    if function == "concat":
        return b"".join(values)  # type: ignore[arg-type]
    if function in ("lcase", "ucase"):
        text = values[0].decode("latin-1")  # type: ignore[union-attr]
        return (text.lower() if function == "lcase" else text.upper()).encode("latin-1")
    if function == "encode-int":
        number, width = values
        return (number % (1 << width)).to_bytes(width // 8, "big")  # type: ignore[operator]
    if function == "extract-int":
        data, width = values
        size = width // 8  # type: ignore[operator]
        return int.from_bytes(data[:size], "big") if len(data) >= size else None  # type: ignore[arg-type,index]
    if function == "reverse":
        width, data = values
        chunks = [data[start:start + width] for start in range(0, len(data), width)]  # type: ignore[index,arg-type]
        return b"".join(reversed(chunks))
    base, width, separator, data = values
    return _binary_to_ascii(base, width, separator, data)  # type: ignore[arg-type]


def _binary_to_ascii(base: int, width: int, separator: bytes, data: bytes) -> bytes | None:
    """Each `width`-bit number of `data` written in `base` (2 to 16, lowercase), joined by `separator`."""
    size = width // 8
    if width not in INTEGER_WIDTHS_IN_BITS or not 2 <= base <= 16:
        return None
    digits = "0123456789abcdef"
    words = []
    for start in range(0, len(data) - size + 1, size):
        number = int.from_bytes(data[start:start + size], "big")
        text = ""
        while True:
            number, digit = divmod(number, base)
            text = digits[digit] + text
            if number == 0:
                break
        words.append(text)
    return separator.join(word.encode("ascii") for word in words)
