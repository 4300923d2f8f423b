"""The `trunk NAME { vlan ID [inner ID] { subnet ... { server-address ...; } } }` configuration syntax."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface

import pytest

from dhcpd.config.errors import ConfigError
from dhcpd.config.parser import parse_text
from dhcpd.config.trunks import ServedVlan, trunk_vlans

pytestmark = pytest.mark.unit

TRUNKS = """
default-lease-time 600;
trunk tr0 {
  vlan 100 {
    option domain-name "v100.example";
    subnet 10.100.0.0 netmask 255.255.255.0 {
      server-address 10.100.0.1;
      range 10.100.0.10 10.100.0.20;
    }
  }
  vlan 200 inner 300 {
    subnet 10.200.0.0 netmask 255.255.255.0 { server-address 10.200.0.1; range 10.200.0.10 10.200.0.20; }
    subnet 10.201.0.0 netmask 255.255.0.0 { server-address 10.201.0.1; }
  }
}
trunk tr1 { vlan 100 { subnet 10.101.0.0 netmask 255.255.255.0 { server-address 10.101.0.254; } } }
subnet 10.9.0.0 netmask 255.255.255.0 { range 10.9.0.10 10.9.0.20; }
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_text(text, "t.conf")
    return str(raised.value).splitlines()


def test_trunk_vlans_map_trunk_and_tags_to_our_addresses():
    config = parse_text(TRUNKS)
    assert trunk_vlans(config) == {
        ("tr0", 100, None): ServedVlan("tr0", 100, None, "tr0/100", (IPv4Interface("10.100.0.1/24"),)),
        ("tr0", 200, 300): ServedVlan("tr0", 200, 300, "tr0/200/300",
                                      (IPv4Interface("10.200.0.1/24"), IPv4Interface("10.201.0.1/16"))),
        ("tr1", 100, None): ServedVlan("tr1", 100, None, "tr1/100", (IPv4Interface("10.101.0.254/24"),)),
    }


def test_trunk_subnets_are_ordinary_subnets_inheriting_from_the_vlan_block_and_global_scope():
    config = parse_text(TRUNKS)
    assert [str(subnet.network) for subnet in config.subnets] == [
        "10.100.0.0/24", "10.200.0.0/24", "10.201.0.0/16", "10.101.0.0/24", "10.9.0.0/24"]
    v100 = config.subnets[0]
    assert v100.effective_options()[15] == b"v100.example" and v100.param("default-lease-time") == 600
    assert v100.param("server-address") == IPv4Address("10.100.0.1") and len(v100.pools[0].ranges[0]) == 11


def test_a_configuration_without_trunks_has_no_trunk_vlans():
    assert trunk_vlans(parse_text("subnet 10.9.0.0 netmask 255.255.255.0 { }")) == {}


@pytest.mark.parametrize("text, expected", [
    ("trunk tr0 { vlan 100 { subnet 10.1.0.0 netmask 255.255.255.0 { } } }",
     "t.conf line 1: subnet 10.1.0.0/24 on trunk vlan tr0/100 needs server-address (our address on that VLAN)"),
    ("trunk tr0 { vlan 100 { subnet 10.1.0.0 netmask 255.255.255.0 { server-address 10.2.0.1; } } }",
     "t.conf line 1: server-address 10.2.0.1 is not a host address of subnet 10.1.0.0/24"),
    ("subnet 10.1.0.0 netmask 255.255.255.0 {\n server-address 10.1.0.1; }",
     "t.conf line 1: subnet 10.1.0.0/24: server-address is only used in a subnet inside trunk { vlan { } }"),
    ("trunk tr0 { vlan 4095 { } }", "t.conf line 1: VLAN id 4095 is not between 1 and 4094"),
    ("trunk tr0 {\n subnet 10.1.0.0 netmask 255.255.255.0 { } }",
     "t.conf line 2: expected vlan or '}' in trunk tr0 (opened at line 1), found 'subnet'"),
    ("trunk tr0 {\n vlan 5 { }", "t.conf line 1: the trunk tr0 block opened here is never closed with '}'"),
    ("group { trunk tr0 { } }", "t.conf line 1: trunk is not allowed inside a group"),
    ("server-address 10.1.0.1;", "t.conf line 1: server-address is not allowed inside a global scope"),
])
def test_mistakes_are_reported_with_file_and_line(text, expected):
    assert expected in problems_of(text)


def test_a_vlan_declared_twice_on_one_trunk_names_the_first_declaration():
    text = ("trunk tr0 { vlan 7 { subnet 10.1.0.0 netmask 255.255.255.0 { server-address 10.1.0.1; } } }\n"
            "trunk tr0 { vlan 7 { subnet 10.2.0.0 netmask 255.255.255.0 { server-address 10.2.0.1; } } }\n")
    assert problems_of(text) == ["t.conf line 2: vlan tr0/7 is already declared at t.conf line 1"]


def test_parsing_goes_on_after_a_bad_vlan_entry_inside_and_after_the_trunk():
    text = ("trunk tr0 {\n vlan 0 { }\n vlan 9 { subnet 10.1.0.0 netmask 255.255.255.0 { server-address 10.1.0.1;\n"
            " range 10.2.0.1 10.2.0.2; } } }\nsubnet 10.3.0.0 netmask 255.255.255.0 { bogus 1; }\n")
    assert problems_of(text) == ["t.conf line 2: VLAN id 0 is not between 1 and 4094",
                                 "t.conf line 4: range 10.2.0.1 10.2.0.2 is not within subnet 10.1.0.0/24",
                                 "t.conf line 5: bogus is not supported"]
