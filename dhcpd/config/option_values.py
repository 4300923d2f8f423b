"""Option statements' values: literal values read from tokens by an option's format, and the type
declarations of `option NAME code N = TYPE;` turned into isc format strings.
"""

from __future__ import annotations

from ipaddress import AddressValueError, IPv4Address, IPv6Address

from dhcpd.config.lexer import Kind, Token, Tokens
from dhcpd.wire.options import INFINITE_LEASE, INTEGER_WIDTHS, SIGNED_INTEGERS, OptionDefinition, encode_field, parse_format

BOOLEAN_WORDS = {"true": True, "on": True, "false": False, "off": False}
SIMPLE_TYPES = {"boolean": "f", "ip-address": "I", "ip6-address": "6", "text": "t", "string": "X",
                "domain-name": "d", "zerolen": "Z"}
SIGNED_FORMATS = {8: "b", 16: "s", 32: "l"}
UNSIGNED_FORMATS = {8: "B", 16: "S", 32: "L"}


class HostnameValue(Exception):
    """An address written as a hostname: isc resolves it through DNS while serving; this server does not."""

    def __init__(self, token: Token) -> None:
        super().__init__(token.text)
        self.token = token


def read_option_value(tokens: Tokens, definition: OptionDefinition) -> bytes:
    """The wire value of a literal option value at the cursor (up to, not including, the `;`)."""
    option_format = parse_format(definition.format)
    if option_format.encapsulates is not None:
        raise tokens.error(tokens.peek(), f"option {definition.name} cannot be set to a literal value")
    fields = option_format.fields
    output = bytearray()
    while True:
        for index, field_type in enumerate(fields):
            repeating_last = option_format.repeat == "last" and index == len(fields) - 1
            if index >= option_format.required and tokens.at(";"):
                break
            output += encode_field(field_type, read_field(tokens, field_type))
            while repeating_last and tokens.accept(","):
                output += encode_field(field_type, read_field(tokens, field_type))
        if option_format.repeat != "record" or not tokens.accept(","):
            return bytes(output)


def read_field(tokens: Tokens, field_type: str) -> object:
    """One field's Python value, checked against its type."""
    token = tokens.peek()
    if field_type == "I":
        return read_address(tokens)
    if field_type == "6":
        try:
            return IPv6Address(tokens.word("an IPv6 address").text)
        except AddressValueError:
            raise tokens.error(token, f"{token.describe()} is not an IPv6 address") from None
    if field_type == "T" and tokens.accept("infinite"):
        return INFINITE_LEASE
    if field_type in INTEGER_WIDTHS:
        return read_integer(tokens, INTEGER_WIDTHS[field_type] * 8, field_type in SIGNED_INTEGERS)
    if field_type == "f":
        word = tokens.word("true or false").text.lower()
        if word not in BOOLEAN_WORDS:
            raise tokens.error(token, f"expected true, false, on or off, found '{word}'")
        return BOOLEAN_WORDS[word]
    if field_type in ("t", "d"):
        return tokens.string("a text value").text
    if field_type == "X":
        return read_data(tokens)
    if field_type in ("D", "Dc"):
        names = [tokens.string("a domain name").text]
        while tokens.accept(","):
            names.append(tokens.string("a domain name").text)
        return names
    if field_type == "Z":
        return None
    raise tokens.error(token, f"option fields of type {field_type!r} are not supported")


def read_address(tokens: Tokens) -> IPv4Address:
    token = tokens.word("an IPv4 address")
    try:
        return IPv4Address(token.text)
    except AddressValueError:
        if any(char.isalpha() for char in token.text):
            raise HostnameValue(token) from None
        raise tokens.error(token, f"'{token.text}' is not an IPv4 address") from None


def read_integer(tokens: Tokens, bits: int, signed: bool) -> int:
    """An integer that fits `bits`; a signed field also takes values up to the unsigned maximum, like isc."""
    token = tokens.word("a number")
    try:
        number = int(token.text, 0) if token.text.lower().startswith("0x") else int(token.text, 10)
    except ValueError:
        raise tokens.error(token, f"'{token.text}' is not a number") from None
    lowest = -(1 << (bits - 1)) if signed else 0
    if not lowest <= number < (1 << bits):
        raise tokens.error(token, f"{number} does not fit in {'a signed' if signed else 'an unsigned'} {bits}-bit integer")
    return number


def read_data(tokens: Tokens) -> bytes:
    """A quoted string's bytes or colon-separated hex (`01:02:0a`)."""
    token = tokens.name("a quoted string or colon-separated hex")
    if token.kind is Kind.STRING:
        return token.text.encode("utf-8")
    return parse_hex(tokens, token)


def parse_hex(tokens: Tokens, token: Token) -> bytes:
    parts = token.text.split(":")
    if not all(1 <= len(part) <= 2 and all(char in "0123456789abcdefABCDEF" for char in part) for part in parts):
        raise tokens.error(token, f"'{token.text}' is not colon-separated hex")
    return bytes(int(part, 16) for part in parts)


def read_type_format(tokens: Tokens) -> str:
    """The isc format string of a `code N = TYPE` declaration: simple type, record `{ T, ... }`, `array of`."""
    if tokens.accept("array"):
        tokens.expect("of")
        return read_record_or_type(tokens) + "A"
    return read_record_or_type(tokens)


def read_record_or_type(tokens: Tokens) -> str:
    if not tokens.accept("{"):
        return read_simple_type(tokens)
    parts = [read_type_format(tokens)]
    while tokens.accept(","):
        parts.append(read_type_format(tokens))
    tokens.expect("}")
    return "".join(parts)


def read_simple_type(tokens: Tokens) -> str:
    token = tokens.word("an option type")
    word = token.text.lower()
    if word in SIMPLE_TYPES:
        return SIMPLE_TYPES[word]
    if word == "domain-list":
        return "Dc" if tokens.accept("compressed") else "D"
    if word == "encapsulate":
        return "E" + tokens.word("an option space name").text.lower() + "."
    signed = word != "unsigned"
    if word in ("signed", "unsigned"):
        tokens.expect("integer")
    elif word != "integer":
        raise tokens.error(token, f"'{token.text}' is not an option type")
    width_token = tokens.word("an integer width (8, 16 or 32)")
    formats = SIGNED_FORMATS if signed else UNSIGNED_FORMATS
    if width_token.text not in ("8", "16", "32"):
        raise tokens.error(width_token, f"integer width must be 8, 16 or 32, not '{width_token.text}'")
    return formats[int(width_token.text)]
