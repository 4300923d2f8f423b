"""Option statements: the standard table, literal values encoded by format, user-defined codes and types,
option spaces with vendor-encapsulated-options, expression-valued options, and value errors."""

from ipaddress import IPv4Address

import pytest

from dhcpd.config.errors import ConfigError
from dhcpd.config.expressions import Call, Literal, OptionValue
from dhcpd.config.parser import parse_text
from dhcpd.wire.options import OPTION_NAMES, code_for, encode_domain_list, parse_format

pytestmark = pytest.mark.unit


def options(text: str) -> dict[int, bytes]:
    return parse_text(text).root.options


def test_table_names_and_codes():
    assert code_for("routers") == 3 and code_for("Domain-Search") == 119
    assert OPTION_NAMES[6] == "domain-name-servers" and OPTION_NAMES[82] == "relay-agent-information"
    with pytest.raises(KeyError):
        code_for("no-such-option")


@pytest.mark.parametrize("statement, code, value", [
    ("subnet-mask 255.255.255.0", 1, bytes([255, 255, 255, 0])),
    ("routers 10.0.0.1, 10.0.0.2", 3, bytes([10, 0, 0, 1, 10, 0, 0, 2])),
    ("time-offset -1", 2, b"\xff\xff\xff\xff"),
    ("interface-mtu 1500", 26, (1500).to_bytes(2, "big")),
    ("default-ip-ttl 64", 23, b"\x40"),
    ("ip-forwarding on", 19, b"\x01"),
    ("domain-name \"example.org\"", 15, b"example.org"),
    ("dhcp-client-identifier 01:0a:ff", 61, b"\x01\x0a\xff"),
    ("vendor-class-identifier \"abc\"", 60, b"abc"),
    ("dhcp-lease-time infinite", 51, b"\xff\xff\xff\xff"),
    ("static-routes 10.9.0.0 10.0.0.1, 10.8.0.0 10.0.0.2", 33, bytes([10, 9, 0, 0, 10, 0, 0, 1, 10, 8, 0, 0, 10, 0, 0, 2])),
    ("dhcp-parameter-request-list 1, 3, 6", 55, b"\x01\x03\x06"),
    ("slp-service-scope true", 79, b"\x01"),
    ("slp-service-scope false \"x\"", 79, b"\x00x"),
    ("slp-directory-agent true 10.0.0.1, 10.0.0.2", 78, bytes([1, 10, 0, 0, 1, 10, 0, 0, 2])),
    ("domain-search \"a.example.com\", \"b.example.com\"", 119,
     bytes([1]) + b"a" + bytes([7]) + b"example" + bytes([3]) + b"com\x00" + bytes([1]) + b"b\xc0\x02"),
    ("rapid-commit", 80, b""),
])
def test_standard_option_values(statement, code, value):
    assert options(f"option {statement};")[code] == value


def test_user_defined_codes_and_types():
    config = parse_text("""
        option rfc3442-classless-static-routes code 121 = array of integer 8;
        option record code 240 = { ip-address, unsigned integer 16, boolean, text };
        option pairs code 241 = array of { unsigned integer 8, ip-address };
        option small code 242 = signed integer 8;
        option names code 243 = domain-list;
        option rfc3442-classless-static-routes 24, 192, 168, 1, 10, 0, 0, 1;
        option record 10.0.0.1 8080 false "x";
        option pairs 1 10.0.0.1, 2 10.0.0.2;
        option small -2;
        option names "a.b", "c.b";
    """)
    assert config.root.options == {
        121: bytes([24, 192, 168, 1, 10, 0, 0, 1]),
        240: bytes([10, 0, 0, 1]) + (8080).to_bytes(2, "big") + b"\x00x",
        241: bytes([1, 10, 0, 0, 1, 2, 10, 0, 0, 2]),
        242: b"\xfe",
        243: encode_domain_list(["a.b", "c.b"], compress=False),
    }


def test_vendor_option_space_assembles_option_43_where_it_is_used():
    config = parse_text("""
        option space acme;
        option acme.server code 1 = ip-address;
        option acme.mode code 2 = unsigned integer 8;
        option acme.server 10.0.0.9;
        subnet 10.0.0.0 netmask 255.255.255.0 { vendor-option-space acme; option acme.mode 3; }
        subnet 10.0.1.0 netmask 255.255.255.0 { }
    """)
    first, second = config.subnets
    assert first.options[43] == bytes([1, 4, 10, 0, 0, 9, 2, 1, 3])
    assert 43 not in second.effective_options()
    assert config.root.space_options == {"acme": {1: bytes([10, 0, 0, 9])}}


def test_option_space_with_wide_codes_and_lengths():
    config = parse_text("""
        option space wide code width 2 length width 2 hash size 3;
        option wide.tag code 300 = string;
        option wide.tag "ab";
        vendor-option-space wide;
    """)
    assert config.root.options[43] == bytes([1, 44, 0, 2]) + b"ab"


def test_client_identifier_in_a_host_sets_its_client_id():
    config = parse_text('host h { option dhcp-client-identifier "id-1"; }')
    assert config.hosts[0].client_id == b"id-1" and config.hosts[0].options[61] == b"id-1"


def test_option_with_expression_value_is_stored_for_the_engine():
    scope = parse_text('option host-name = concat("h-", option agent.circuit-id);').root
    assert scope.option_expressions == {12: Call("concat", (Literal(b"h-"), OptionValue("agent", 1, "circuit-id")))}


def test_hostname_values_are_left_out_with_a_note():
    config = parse_text("option domain-name-servers ns1.example.org, 10.0.0.1;\noption routers 10.0.0.1;")
    assert 6 not in config.root.options and config.root.options[3] == IPv4Address("10.0.0.1").packed
    assert config.notes == ["<string> line 1: option domain-name-servers left out: ns1.example.org is a hostname "
                            "and hostnames are not resolved"]


@pytest.mark.parametrize("text, message", [
    ("option routers 10.0.0;", "line 1: '10.0.0' is not an IPv4 address"),
    ("option default-ip-ttl 256;", "line 1: 256 does not fit in an unsigned 8-bit integer"),
    ("option domain-name example.org;", "line 1: expected a text value in quotes"),
    ("option dhcp-client-identifier 01:xyz;", "line 1: '01:xyz' is not colon-separated hex"),
    ("option relay-agent-information 1;", "line 1: option relay-agent-information cannot be set to a literal value"),
    ("option x.y code 1 = text;", "line 1: option space x is not declared"),
    ("option z code 300 = text;", "line 1: option code 300 is out of range for space dhcp"),
    ("option z code 200 = integer 12;", "line 1: integer width must be 8, 16 or 32"),
    ("option z code 200 = float;", "line 1: 'float' is not an option type"),
    ("option routers = option nothing;", "line 1: unknown option nothing"),
])
def test_bad_option_values(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_text(text)


def test_format_parsing():
    assert parse_format("IIA").fields == ("I", "I") and parse_format("IIA").repeat == "record"
    assert parse_format("fto").required == 1
    assert parse_format("Eagent.").encapsulates == "agent"
