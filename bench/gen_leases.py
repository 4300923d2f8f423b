"""Generator of large ISC dhcpd.leases files (and a matching dhcpd.conf) for import and start-up benchmarks.

The leases are laid out as isc-dhcpd 4.4 writes them: `starts`, `ends`, `cltt`, `binding state`, `next
binding state`, `rewind binding state`, `hardware ethernet`, `uid` with octal escapes, `set
vendor-class-identifier`, relay agent options and `client-hostname`, in isc's order. Lease N lives in /24
subnet N // 250 (10.0.0.0/24, 10.0.1.0/24, ...), host .2 to .251, so a million leases fill 4,000 VLAN
subnets, which is what the matching configuration declares. A share of the addresses is declared a second
time further down the file, as isc appends a declaration whenever a lease changes; the last one is in effect.

Run: python -m bench.gen_leases OUT.leases [--leases 1000000] [--config OUT.conf] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
from typing import TextIO

from dhcpd.leases.iscfile_syntax import format_date, quote

HOSTS_PER_SUBNET = 250
FIRST_HOST = 2
BASE_TIME = 1_704_276_000   # 2024-01-03 10:00:00 UTC
LEASE_SECONDS = 43_200
STATES = ("active",) * 8 + ("free", "expired", "released", "abandoned", "backup")
BATCH = 10_000
ETHERNET_UID_TYPE = b"\x01"   # a client id as most clients send it: hardware type 1, then the MAC


def subnet_prefix(subnet_number: int) -> str:
    """The first three octets of /24 number `subnet_number`, e.g. '10.0.1'."""
    return f"10.{subnet_number >> 8}.{subnet_number & 255}"


def lease_address(number: int) -> str:
    subnet_number, host = divmod(number, HOSTS_PER_SUBNET)
    return f"{subnet_prefix(subnet_number)}.{FIRST_HOST + host}"


def lease_block(number: int, chooser: random.Random) -> str:
    """One `lease` declaration, with fields drawn from `chooser`."""
    starts = BASE_TIME + chooser.randrange(86_400)
    state = chooser.choice(STATES)
    mac = (0x020000000000 + number).to_bytes(6, "big")
    lines = [
        f"lease {lease_address(number)} {{\n",
        f"  starts {format_date(starts)};\n",
        f"  ends {format_date(starts + LEASE_SECONDS)};\n",
        f"  cltt {format_date(starts)};\n",
        f"  binding state {state};\n",
    ]
    if state == "active":
        lines.append("  next binding state free;\n  rewind binding state free;\n")
    lines.append(f"  hardware ethernet {mac.hex(':')};\n")
    if chooser.random() < 0.6:
        lines.append(f"  uid {quote(ETHERNET_UID_TYPE + mac)};\n")
    if chooser.random() < 0.3:
        lines.append('  set vendor-class-identifier = "MSFT 5.0";\n')
    if chooser.random() < 0.2:
        lines.append(f'  option agent.circuit-id "vlan{number // HOSTS_PER_SUBNET}:{number % 48}";\n'
                     f"  option agent.remote-id {mac.hex(':')};\n")
    if chooser.random() < 0.5:
        lines.append(f'  client-hostname "host-{number}";\n')
    lines.append("}\n")
    return "".join(lines)


def write_lease_file(out: TextIO, count: int, *, seed: int = 1, superseded: float = 0.05) -> None:
    """`count` distinct addresses; a `superseded` share of them is declared twice (the later one wins)."""
    chooser = random.Random(seed)
    out.write("# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
              "# This lease file was written by isc-dhcp-4.4.3-P1\n\n"
              "# authoring-byte-order entry is generated, DO NOT DELETE\n"
              "authoring-byte-order little-endian;\n\n"
              'server-duid "\\000\\001\\000\\001-\\334\\012\\273RT\\000\\0224V";\n\n')
    numbers = list(range(count))
    numbers += chooser.sample(range(count), int(count * superseded))
    for start in range(0, len(numbers), BATCH):
        out.write("".join(lease_block(number, chooser) for number in numbers[start:start + BATCH]))


def write_config(out: TextIO, count: int) -> None:
    """A dhcpd.conf whose /24 subnets and ranges hold every address of `write_lease_file(count)`."""
    out.write("default-lease-time 43200;\nmax-lease-time 86400;\nauthoritative;\n")
    for subnet_number in range(-(-count // HOSTS_PER_SUBNET)):
        prefix = subnet_prefix(subnet_number)
        out.write(f"subnet {prefix}.0 netmask 255.255.255.0 {{\n"
                  f"  range {prefix}.{FIRST_HOST} {prefix}.{FIRST_HOST + HOSTS_PER_SUBNET - 1};\n"
                  f"  option routers {prefix}.1;\n}}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lease_file")
    parser.add_argument("--leases", type=int, default=1_000_000)
    parser.add_argument("--config", help="also write a dhcpd.conf declaring the subnets")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with open(args.lease_file, "w", encoding="latin-1") as out:
        write_lease_file(out, args.leases, seed=args.seed)
    if args.config:
        with open(args.config, "w", encoding="latin-1") as out:
            write_config(out, args.leases)


if __name__ == "__main__":
    main()
