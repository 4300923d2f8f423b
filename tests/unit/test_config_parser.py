"""The dhcpd.conf reader: scopes, params, options, hosts, pools and the layout of the resulting Config."""

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from dhcpd.config.errors import ConfigError
from dhcpd.config.model import EMPTY_MAPPING, Host, Pool, SharedNetwork, Subnet
from dhcpd.config.parser import load, parse_text

pytestmark = pytest.mark.unit
ETC = Path(__file__).resolve().parents[2] / "etc"


def test_demo_config_has_three_subnets_with_ranges_routers_and_a_host():
    config = load(str(ETC / "demo.conf"))
    assert [str(subnet.network) for subnet in config.subnets] == ["10.77.1.0/24", "10.77.2.0/24", "10.77.3.0/24"]
    for number, subnet in enumerate(config.subnets, start=1):
        (pool,) = subnet.pools
        assert pool.parent is subnet
        assert [(str(r.first), str(r.last)) for r in pool.ranges] == [(f"10.77.{number}.100", f"10.77.{number}.199")]
        assert subnet.options[3] == IPv4Address(f"10.77.{number}.1").packed
        assert subnet.parent is config.root and subnet.shared_network is None
    assert config.root.params == {"default-lease-time": 600, "max-lease-time": 7200, "authoritative": True}
    assert config.root.options[6] == bytes([10, 77, 1, 1, 10, 77, 2, 1])
    (host,) = config.hosts
    assert host.hardware == bytes.fromhex("020000770150") and host.fixed_addresses == [IPv4Address("10.77.1.50")]
    assert host.parent is config.subnets[0]
    assert config.notes == ["ddns-update-style"]


def test_typed_params_at_every_scope_kind():
    config = parse_text("""
        not authoritative; one-lease-per-client true; ping-check off; use-host-decl-names on;
        get-lease-hostnames false; next-server 10.0.0.5; server-identifier 10.0.0.1;
        filename "pxelinux.0"; server-name "boot"; lease-file-name "/var/lib/dhcp/dhcpd.leases";
        ping-timeout 2; min-lease-time 60;
        deny bootp; allow unknown-clients; ignore declines;
        subnet 10.0.0.0 netmask 255.255.255.0 { default-lease-time 300; deny unknown-clients; }
    """)
    assert config.root.params == {
        "authoritative": False, "one-lease-per-client": True, "ping-check": False, "use-host-decl-names": True,
        "get-lease-hostnames": False, "next-server": IPv4Address("10.0.0.5"),
        "server-identifier": IPv4Address("10.0.0.1"), "filename": "pxelinux.0", "server-name": "boot",
        "lease-file-name": "/var/lib/dhcp/dhcpd.leases", "ping-timeout": 2, "min-lease-time": 60,
        "bootp": False, "unknown-clients": True, "declines": False,
    }
    subnet = config.subnets[0]
    assert subnet.param("default-lease-time") == 300 and subnet.param("unknown-clients") is False
    assert subnet.param("filename") == "pxelinux.0"


def test_shared_network_subnets_and_pools_written_in_the_shared_network():
    config = parse_text("""
        class "foo" { match if substring (option vendor-class-identifier, 0, 4) = "SUNW"; }
        shared-network "224-29" {
          option domain-name "shared.example";
          subnet 10.17.224.0 netmask 255.255.255.0 { option routers 10.17.224.1; }
          subnet 10.0.29.0 netmask 255.255.255.0 { option routers 10.0.29.1; }
          pool { allow members of "foo"; range 10.17.224.10 10.17.224.250; }
          pool { deny members of "foo"; deny unknown-clients; allow all clients; range 10.0.29.10 10.0.29.230; }
        }
    """)
    (network,) = config.shared_networks
    assert isinstance(network, SharedNetwork) and network.name == "224-29"
    first, second = config.subnets
    assert network.subnets == [first, second]
    assert first.shared_network is network and first.parent is network
    assert first.pools[0].permits == [("allow", ("members of", "foo"))]
    assert second.pools[0].permits == [("deny", ("members of", "foo")), ("deny", "unknown-clients"),
                                       ("allow", "all clients")]
    assert second.pools[0].parent is second
    assert second.pools[0].effective_options()[15] == b"shared.example"


def test_bare_ranges_share_one_implicit_pool_and_explicit_pools_follow():
    config = parse_text("""
        subnet 192.168.0.0 netmask 255.255.0.0 {
          range 192.168.1.10 192.168.1.20;
          range dynamic-bootp 192.168.2.1;
          pool { range 192.168.3.1 192.168.3.9; max-lease-time 60; }
        }
    """)
    implicit, explicit = config.subnets[0].pools
    assert isinstance(implicit, Pool) and implicit.parent is config.subnets[0]
    assert [(str(r.first), str(r.last), r.dynamic_bootp) for r in implicit.ranges] == [
        ("192.168.1.10", "192.168.1.20", False), ("192.168.2.1", "192.168.2.1", True)]
    assert len(explicit.ranges[0]) == 9 and explicit.param("max-lease-time") == 60


def test_empty_containers_of_parsed_scopes_are_one_shared_read_only_value():
    config = parse_text("subnet 10.0.0.0 netmask 255.255.255.0 { range 10.0.0.10 10.0.0.20; }\n"
                        "subnet 10.0.1.0 netmask 255.255.255.0 { option routers 10.0.1.1; }\n")
    first, second = config.subnets
    assert first.options is EMPTY_MAPPING and first.params is EMPTY_MAPPING and first.conditionals == ()
    assert first.pools[0].permits == () and second.pools == () and second.options == {3: bytes([10, 0, 1, 1])}
    assert (first.id, second.id) == ("10.0.0.0/24", "10.0.1.0/24")
    with pytest.raises(TypeError):
        first.options[3] = b"x"


def test_groups_and_hosts_inherit_from_their_enclosing_scope():
    config = parse_text("""
        group {
          filename "group.bin";
          subnet 10.1.0.0 netmask 255.255.0.0 { }
          host "laptop" {
            hardware ethernet 0:0:c0:5d:bd:95;
            fixed-address 10.1.0.7, 10.9.9.9;
            option dhcp-client-identifier "laptop-id";
          }
        }
        host tokenring { hardware token-ring 01:02:03:04; }
    """)
    laptop, tokenring = config.hosts
    assert isinstance(laptop, Host) and laptop.name == "laptop"
    assert laptop.hardware == bytes([0, 0, 0xC0, 0x5D, 0xBD, 0x95]) and laptop.hardware_type == 1
    assert laptop.fixed_addresses == [IPv4Address("10.1.0.7"), IPv4Address("10.9.9.9")]
    assert laptop.client_id == b"laptop-id" and laptop.param("filename") == "group.bin"
    assert config.subnets[0].param("filename") == "group.bin"
    assert tokenring.hardware_type == 6 and tokenring.parent is config.root


def test_subnet_outside_shared_network_points_to_its_group():
    config = parse_text("group { subnet 10.2.0.0 netmask 255.255.255.0 { } }")
    subnet = config.subnets[0]
    assert isinstance(subnet, Subnet) and subnet.network == IPv4Network("10.2.0.0/24")
    assert subnet.shared_network is None and subnet.parent is not config.root
    assert subnet.parent.parent is config.root


def test_noted_statements_are_listed_once():
    config = parse_text("""
        ddns-update-style none; ddns-updates off; log-facility local7; update-static-leases on;
        db-time-format local; omapi-port 7911; log-facility local6; ignore client-updates;
    """)
    assert config.notes == ["ddns-update-style", "ddns-updates", "log-facility", "update-static-leases",
                            "db-time-format", "omapi-port", "ignore client-updates"]


def test_comments_escapes_and_statements_spanning_lines():
    config = parse_text('# head\noption domain-name "a\\"b\\\\c\\101"; # tail\n'
                        'subnet 10.0.0.0\n  netmask\n 255.0.0.0 # split\n {\n}\n')
    assert config.root.options[15] == b'a"b\\cA'
    assert config.subnets[0].line == 3


@pytest.mark.parametrize("text, problem", [
    ("host h {\n subnet 10.0.0.0 netmask 255.0.0.0 { }\n}", "<string> line 2: subnet is not allowed inside a host"),
    ("range 10.0.0.1 10.0.0.2;", "<string> line 1: range is not allowed inside a global scope"),
    ("subnet 10.0.0.0 netmask 255.0.0.0 {\n pool { max-lease-time 5; }\n}",
     "<string> line 2: pool declaration with no address range"),
    ('\n\nsubclass "nobody" "x";', "<string> line 3: subclass of undeclared class nobody"),
    ('class "a" { }\nclass "a" { }', "<string> line 2: class a is already declared"),
    ("subnet 10.0.0.0 netmask 255.0.0.0 {\n\n range 10.0.0.1 10.0.0.2;\n", "<string> line 1: the block opened here is never closed"),
    ('option domain-name "abc;\n', "<string> line 1: unterminated quoted string"),
    ("default-lease-time 5;\n$", "<string> line 2: unexpected character '$'"),
    ("shared-network x {\n subnet 10.0.0.0 netmask 255.0.0.0 { }\n pool { range 11.1.0.1; }\n}",
     "<string> line 3: range 11.1.0.1 11.1.0.1 is not in any subnet of shared-network x"),
    ("subnet 10.0.0.0 netmask 255.0.255.0 { }", "<string> line 1: subnet 10.0.0.0 netmask 255.0.255.0: bad subnet"),
    ("hardware ethernet 00:11:22:33:44:55;", "<string> line 1: hardware is not allowed inside a global scope"),
    ("host h { hardware ethernet 00:11:22:33:44; }", "<string> line 1: malformed hardware address 00:11:22:33:44"),
    ("host h { hardware wifi 00:11:22:33:44:55; }", "<string> line 1: hardware type wifi is not supported"),
    ("next-server boot.example.org;", "<string> line 1: next-server boot.example.org: hostnames are not supported"),
    ("allow booting-everything;", "<string> line 1: allow booting-everything is not supported"),
    ("ddns-updates on;", "<string> line 1: ddns-updates on is not supported"),
    ("zone example.org. { primary 127.0.0.1; }", "<string> line 1: zone is not supported"),
    ("{ }", "<string> line 1: expected a statement, found '{'"),
])
def test_problems_name_file_line_and_statement(text, problem):
    with pytest.raises(ConfigError) as raised:
        parse_text(text)
    assert str(raised.value).startswith(problem)


def test_parsing_goes_on_after_a_problem_and_reports_all_of_them():
    text = "default-lease-time x;\nsubnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.9 10.0.0.1;\n  frobnicate 1;\n}\nmax-lease-time -1;\n"
    with pytest.raises(ConfigError) as raised:
        parse_text(text, "f.conf")
    assert [(problem.file, problem.line) for problem in raised.value.problems] == [
        ("f.conf", 1), ("f.conf", 3), ("f.conf", 4), ("f.conf", 6)]
    assert "frobnicate is not supported" in raised.value.problems[2].message


def test_text_that_cannot_be_read_as_tokens_is_its_only_problem_even_after_others():
    text = "frobnicate 1;\nsubnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.1 10.0.0.9;\n  $\n}\n"
    with pytest.raises(ConfigError) as raised:
        parse_text(text, "f.conf")
    assert [(problem.line, problem.message) for problem in raised.value.problems] == [
        (4, "unexpected character '$'")]


def test_many_vlan_subnets_parse():
    text = "".join(f"subnet 10.{n // 256}.{n % 256}.0 netmask 255.255.255.0 {{ range 10.{n // 256}.{n % 256}.10 "
                   f"10.{n // 256}.{n % 256}.250; option routers 10.{n // 256}.{n % 256}.1; }}\n" for n in range(4000))
    config = parse_text(text)
    assert len(config.subnets) == 4000 and config.subnet_for(IPv4Address("10.15.159.77")).network == IPv4Network("10.15.159.0/24")
