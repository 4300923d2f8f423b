"""The DHCPv4 option table (dhcp-options(5), isc-dhcpd's names and formats) and the value encoders.

Formats use isc-dhcpd's notation, one letter per field: I address, l/L signed/unsigned 32-bit, s/S 16-bit,
b/B 8-bit, 6 IPv6 address, f boolean, t text, X string or hex, d domain name, D domain list (Dc compressed), T lease time,
Z no data, E<space>. encapsulated space. A trailing A repeats the whole record (comma separated), a trailing
a repeats only the last field, and o after a field makes it optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

DHCP_SPACE = "dhcp"
AGENT_SPACE = "agent"
INTEGER_WIDTHS = {"b": 1, "B": 1, "s": 2, "S": 2, "l": 4, "L": 4, "T": 4}
SIGNED_INTEGERS = frozenset("bsl")
INFINITE_LEASE = 0xFFFFFFFF


@dataclass(frozen=True)
class OptionDefinition:
    name: str
    code: int
    format: str
    space: str = DHCP_SPACE


@dataclass(frozen=True)
class OptionFormat:
    """A format split into fields: `repeat` is "record" (A), "last" (a) or None; optional fields follow `required`."""

    fields: tuple[str, ...]
    repeat: str | None
    required: int
    encapsulates: str | None = None


def _table(space: str, rows: str) -> tuple[OptionDefinition, ...]:
    definitions = []
    for row in rows.strip().splitlines():
        code, name, format_ = row.split()
        definitions.append(OptionDefinition(name, int(code), format_, space))
    return tuple(definitions)


DHCP_OPTIONS = _table(DHCP_SPACE, """
1 subnet-mask I
2 time-offset l
3 routers IA
4 time-servers IA
5 ien116-name-servers IA
6 domain-name-servers IA
7 log-servers IA
8 cookie-servers IA
9 lpr-servers IA
10 impress-servers IA
11 resource-location-servers IA
12 host-name t
13 boot-size S
14 merit-dump t
15 domain-name t
16 swap-server I
17 root-path t
18 extensions-path t
19 ip-forwarding f
20 non-local-source-routing f
21 policy-filter IIA
22 max-dgram-reassembly S
23 default-ip-ttl B
24 path-mtu-aging-timeout L
25 path-mtu-plateau-table SA
26 interface-mtu S
27 all-subnets-local f
28 broadcast-address I
29 perform-mask-discovery f
30 mask-supplier f
31 router-discovery f
32 router-solicitation-address I
33 static-routes IIA
34 trailer-encapsulation f
35 arp-cache-timeout L
36 ieee802-3-encapsulation f
37 default-tcp-ttl B
38 tcp-keepalive-interval L
39 tcp-keepalive-garbage f
40 nis-domain t
41 nis-servers IA
42 ntp-servers IA
43 vendor-encapsulated-options X
44 netbios-name-servers IA
45 netbios-dd-server IA
46 netbios-node-type B
47 netbios-scope t
48 font-servers IA
49 x-display-manager IA
50 dhcp-requested-address I
51 dhcp-lease-time T
52 dhcp-option-overload B
53 dhcp-message-type B
54 dhcp-server-identifier I
55 dhcp-parameter-request-list BA
56 dhcp-message t
57 dhcp-max-message-size S
58 dhcp-renewal-time L
59 dhcp-rebinding-time L
60 vendor-class-identifier X
61 dhcp-client-identifier X
62 nwip-domain t
63 nwip-suboptions X
64 nisplus-domain t
65 nisplus-servers IA
66 tftp-server-name t
67 bootfile-name t
68 mobile-ip-home-agent IA
69 smtp-server IA
70 pop-server IA
71 nntp-server IA
72 www-server IA
73 finger-server IA
74 irc-server IA
75 streettalk-server IA
76 streettalk-directory-assistance-server IA
77 user-class t
78 slp-directory-agent fIa
79 slp-service-scope fto
80 rapid-commit Z
81 fqdn X
82 relay-agent-information Eagent.
85 nds-servers IA
86 nds-tree-name t
87 nds-context t
88 bcms-controller-names D
89 bcms-controller-address Ia
90 authenticate X
91 client-last-transaction-time L
92 associated-ip Ia
93 pxe-system-type Sa
94 pxe-interface-id BBB
97 pxe-client-id BX
98 uap-servers t
99 geoconf-civic X
100 pcode t
101 tcode t
108 v6-only-preferred L
112 netinfo-server-address Ia
113 netinfo-server-tag t
114 default-url t
116 auto-config B
117 name-service-search Sa
118 subnet-selection I
119 domain-search Dc
124 vivco X
125 vivso X
136 pana-agent Ia
137 v4-lost d
138 capwap-ac-v4 Ia
141 sip-ua-cs-domains Dc
142 ipv4-address-andsf IA
146 rdnss-selection BIID
150 tftp-server-address Ia
159 v4-portparams BBS
160 v4-captive-portal t
212 option-6rd BB6Ia
213 v4-access-domain d
""")

AGENT_OPTIONS = _table(AGENT_SPACE, """
1 circuit-id X
2 remote-id X
3 agent-id I
4 DOCSIS-device-class L
5 link-selection I
""")

OPTION_NAMES: dict[int, str] = {definition.code: definition.name for definition in DHCP_OPTIONS}
_CODES = {definition.name: definition.code for definition in DHCP_OPTIONS}


def code_for(name: str) -> int:
    """The code of a standard DHCP option by its isc name; KeyError if there is none."""
    return _CODES[name.lower()]


def parse_format(format_: str) -> OptionFormat:
    """Split an isc format string into its fields, repeat mode and number of required fields."""
    if format_.startswith("E"):
        return OptionFormat((), None, 0, encapsulates=format_[1:].rstrip("."))
    fields: list[str] = []
    repeat: str | None = None
    required: int | None = None
    position = 0
    while position < len(format_):
        letter = format_[position]
        if letter == "A":
            repeat = "record"
        elif letter == "a":
            repeat = "last"
        elif letter == "o":
            required = len(fields) - 1 if required is None else required
        elif letter == "c":
            fields[-1] = "Dc"
        else:
            fields.append(letter)
        position += 1
    return OptionFormat(tuple(fields), repeat, len(fields) if required is None else required)


def encode_field(field_type: str, value: object) -> bytes:
    """Wire bytes of one field from its Python value (int, bool, IPv4Address, str, bytes or list of names)."""
    if field_type == "I":
        return IPv4Address(value).packed  # type: ignore[arg-type]
    if field_type in INTEGER_WIDTHS:
        width = INTEGER_WIDTHS[field_type]
        number = int(value)  # type: ignore[call-overload]
        signed = number < 0 and field_type in SIGNED_INTEGERS
        return number.to_bytes(width, "big", signed=signed)
    if field_type == "f":
        return b"\x01" if value else b"\x00"
    if field_type == "t":
        return str(value).encode("utf-8")
    if field_type == "X":
        return value if isinstance(value, bytes) else str(value).encode("utf-8")
    if field_type == "d":
        return encode_domain_list([str(value)], compress=False)
    if field_type in ("D", "Dc"):
        return encode_domain_list(list(value), compress=field_type == "Dc")  # type: ignore[call-overload]
    if field_type == "6":
        return IPv6Address(value).packed  # type: ignore[arg-type]
    if field_type == "Z":
        return b""
    raise ValueError(f"no encoder for field type {field_type!r}")


def encode_domain_list(names: list[str], compress: bool) -> bytes:
    """RFC 1035 names one after the other; with `compress`, repeated suffixes become pointers (RFC 3397)."""
    output = bytearray()
    suffix_offsets: dict[str, int] = {}
    for name in names:
        labels = [label for label in name.rstrip(".").split(".") if label]
        for index in range(len(labels)):
            suffix = ".".join(labels[index:]).lower()
            if compress and suffix in suffix_offsets:
                output += (0xC000 | suffix_offsets[suffix]).to_bytes(2, "big")
                break
            if compress and len(output) < 0x4000:
                suffix_offsets[suffix] = len(output)
            label = labels[index].encode("ascii")
            if not 0 < len(label) < 64:
                raise ValueError(f"domain label {labels[index]!r} must be 1 to 63 characters")
            output.append(len(label))
            output += label
        else:
            output.append(0)
    return bytes(output)
