"""dhcp-eval(5) expressions: parsing into the tree and evaluating against a PacketView."""

import re

import pytest

from dhcpd.config.catalog import OptionCatalog
from dhcpd.config.errors import ConfigError
from dhcpd.config.expressions import OptionValue, PacketView, evaluate, parse_expression
from dhcpd.config.lexer import Tokens, tokenize
from dhcpd.config.parser import parse_text

pytestmark = pytest.mark.unit
CATALOG = OptionCatalog()
MAC = bytes.fromhex("001122334455")
PACKET = PacketView(
    options={60: b"PXEClient:Arch:00000", 12: b"Printer-07", 61: b"\x01" + MAC},
    htype=1, chaddr=MAC, known=True, agent_options={1: b"eth0/1", 2: b"\x0a\x0b"},
)


def resolve(token):
    definition = CATALOG.lookup(token.text)
    if definition is None:
        raise Tokens.error(token, f"unknown option {token.text}")
    return OptionValue(definition.space, definition.code, definition.name)


def value(text: str, packet: PacketView = PACKET):
    tokens = Tokens(tokenize(text, "<expr>"))
    expression = parse_expression(tokens, resolve)
    assert tokens.peek().text == "", "the whole expression was read"
    return evaluate(expression, packet)


@pytest.mark.parametrize("text, expected", [
    ('substring(option vendor-class-identifier, 0, 9)', b"PXEClient"),
    ('substring(option vendor-class-identifier, 30, 2)', b""),
    ('suffix(option host-name, 2)', b"07"),
    ('suffix(option host-name, 99)', b"Printer-07"),
    ('option agent.circuit-id', b"eth0/1"),
    ('option domain-name', None),
    ('hardware', b"\x01" + MAC),
    ('concat("a", "b", 01:02)', b"ab\x01\x02"),
    ('concat("a", option domain-name)', None),
    ('binary-to-ascii(16, 8, ":", substring(hardware, 1, 6))', b"0:11:22:33:44:55"),
    ('binary-to-ascii(10, 8, ".", option agent.remote-id)', b"10.11"),
    ('binary-to-ascii(10, 16, "-", 01:02:03:04)', b"258-772"),
    ('encode-int(258, 16)', b"\x01\x02"),
    ('encode-int(1, 32)', b"\x00\x00\x00\x01"),
    ('extract-int(option agent.remote-id, 16)', 0x0A0B),
    ('extract-int(option agent.remote-id, 32)', None),
    ('pick-first-value(option domain-name, option host-name, "x")', b"Printer-07"),
    ('lcase(option host-name)', b"printer-07"),
    ('ucase("ab")', b"AB"),
    ('reverse(1, 01:02:03)', b"\x03\x02\x01"),
    ('exists agent.circuit-id', True),
    ('exists domain-name', False),
    ('known', True),
    ('option dhcp-client-identifier = 01:00:11:22:33:44:55', True),
    ('option host-name != "Printer-07"', False),
    ('option domain-name = "x"', False),
    ('option host-name ~= "^printer"', False),
    ('option host-name ~~ "^printer-[0-9]+$"', True),
    ('option host-name ~= "^Printer"', True),
    ('not known', False),
    ('known and exists domain-name', False),
    ('exists domain-name or known', True),
    ('not (exists domain-name or not known)', True),
    ('known and not exists domain-name or exists host-name', True),
])
def test_evaluation(text, expected):
    assert value(text) == expected


def test_unknown_client_and_missing_options():
    packet = PacketView(htype=1, chaddr=MAC)
    assert value("known", packet) is False
    assert value('option agent.circuit-id = "eth0/1"', packet) is False
    assert value('not (option agent.circuit-id = "eth0/1")', packet) is True


@pytest.mark.parametrize("text, message", [
    ("substring(hardware, 1)", "substring takes 3 arguments, not 2"),
    ('option host-name ~= "("', "bad regular expression"),
    ("option host-name ~= option domain-name", "must be a quoted regular expression"),
    ("leased-address", "leased-address is not supported in expressions"),
    ("option no-such", "unknown option no-such"),
    ("(known", "expected ')'"),
])
def test_expression_errors(text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        value(text)


def test_class_match_forms_in_a_config():
    config = parse_text("""
        class "a" { match if option host-name = "x"; }
        class "b" { match option agent.circuit-id; }
        subclass "b" "eth0/1";
        subclass "b" 0a:0b { option domain-name "b2"; }
    """)
    first, second = config.classes
    assert first.match_is_key is False and evaluate(first.match, PACKET) is False
    assert second.match_is_key is True and evaluate(second.match, PACKET) == b"eth0/1"
    assert set(second.subclasses) == {b"eth0/1", b"\x0a\x0b"}
    assert second.subclasses[b"\x0a\x0b"].options[15] == b"b2"
    assert second.subclasses[b"\x0a\x0b"].parent is second


def test_conditional_chains_keep_branch_order_and_else():
    config = parse_text("""
        subnet 10.0.0.0 netmask 255.255.255.0 {
          if known { option domain-name "k"; }
          elsif option host-name ~~ "printer" { option domain-name "p"; }
          else if exists domain-name { option domain-name "d"; }
          else { option domain-name "u"; }
        }
    """)
    subnet = config.subnets[0]
    (chain,) = subnet.conditionals
    assert [branch.options[15] for _, branch in chain.branches] == [b"k", b"p", b"d", b"u"]
    assert chain.branches[-1][0] is None and all(branch.parent is subnet for _, branch in chain.branches)
    unknown_printer = PacketView(options={12: b"PRINTER-1"})
    chosen = next(scope for expression, scope in chain.branches
                  if expression is None or evaluate(expression, unknown_printer))
    assert chosen.options[15] == b"p"
