"""Leases a server already holds when the benchmark starts it (`python -m bench --leases N`), and each server's
lease file for them: an ISC dhcpd.leases (isc-dhcpd), a memfile CSV (kea-dhcp4), a dnsmasq.leases, and for this
project's server its SQLite database, filled through its own store (so its start-up reads them from the
database, as after any restart, instead of importing a lease file).

The leases are active for a day, with distinct MACs and client ids, spread evenly over the pools of every link
but the first: link 0 is where perfdhcp's clients get their addresses, and its pool stays free for them.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path

from bench.netns import Link

PRELOADED_SECONDS = 86_400
KEA_CSV_HEADER = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context"


@dataclass(frozen=True)
class PreloadedLease:
    address: str
    link_index: int          # position of its link in the topology (kea's subnet id is this + 1)
    mac: bytes
    starts: int
    ends: int

    @property
    def client_id(self) -> bytes:
        return b"\x01" + self.mac

    @property
    def hostname(self) -> str:
        return f"pre-{self.mac.hex()}"


def preloaded_leases(links: list[Link], count: int) -> list[PreloadedLease]:
    """`count` active leases over the pools of links[1:], round-robin; ValueError if they do not fit."""
    if count == 0:
        return []
    pools = [(index, int(ipaddress.IPv4Address(link.pool_first)), int(ipaddress.IPv4Address(link.pool_last)))
             for index, link in enumerate(links) if index > 0]
    room = sum(last - first + 1 for _, first, last in pools)
    if count > room:
        raise ValueError(f"{count} leases do not fit in the pools of links 1 to {len(links) - 1} ({room} addresses):"
                         f" use more links")
    now = int(time.time())
    leases: list[PreloadedLease] = []
    offset = 0
    while len(leases) < count:
        for index, first, last in pools:
            if first + offset <= last and len(leases) < count:
                mac = (0x060000000000 + len(leases)).to_bytes(6, "big")
                leases.append(PreloadedLease(str(ipaddress.IPv4Address(first + offset)), index, mac, now,
                                             now + PRELOADED_SECONDS))
        offset += 1
    return leases


def write_isc_leases(path: Path, leases: list[PreloadedLease]) -> None:
    """An ISC dhcpd.leases with one `lease` declaration each, as isc-dhcpd 4.4 writes them."""
    def moment(seconds: int) -> str:
        return time.strftime("%w %Y/%m/%d %H:%M:%S", time.gmtime(seconds))

    with open(path, "w") as out:
        for lease in leases:
            uid = "".join(f"\\{byte:03o}" for byte in lease.client_id)
            out.write(f"lease {lease.address} {{\n  starts {moment(lease.starts)};\n  ends {moment(lease.ends)};\n"
                      f"  cltt {moment(lease.starts)};\n  binding state active;\n  next binding state free;\n"
                      f"  rewind binding state free;\n  hardware ethernet {lease.mac.hex(':')};\n"
                      f"  uid \"{uid}\";\n  client-hostname \"{lease.hostname}\";\n}}\n")


def write_kea_memfile(path: Path, leases: list[PreloadedLease]) -> None:
    """kea-dhcp4's memfile CSV (schema 2.0, as Kea 2.2 writes it)."""
    with open(path, "w") as out:
        out.write(KEA_CSV_HEADER + "\n")
        for lease in leases:
            out.write(f"{lease.address},{lease.mac.hex(':')},{lease.client_id.hex(':')},"
                      f"{lease.ends - lease.starts},{lease.ends},{lease.link_index + 1},0,0,{lease.hostname},0,\n")


def write_dnsmasq_leases(path: Path, leases: list[PreloadedLease]) -> None:
    """dnsmasq's lease file: expiry, MAC, address, hostname, client id."""
    with open(path, "w") as out:
        for lease in leases:
            out.write(f"{lease.ends} {lease.mac.hex(':')} {lease.address} {lease.hostname} "
                      f"{lease.client_id.hex(':')}\n")
