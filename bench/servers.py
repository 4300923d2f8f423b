"""The DHCP servers under test: one small class per kind, each writing its configuration for the links of a
topology into a work directory and giving the command line that starts it in the foreground.

Every server gets the same description: one subnet and pool per link, lease time 3600 s, leases kept on disk,
and the same leases already held (`--leases`; bench/preload.py writes each server's lease file).
Address-in-use probes (ICMP ping before an offer) are off where a server has them (isc-dhcpd, dnsmasq), so
every server is measured on the same DHCP path.
"""

import json
import sys
from ipaddress import IPv4Address
from abc import ABC, abstractmethod
from pathlib import Path

from bench.netns import Link
from bench.preload import (PreloadedLease, write_dnsmasq_leases, write_isc_leases, write_kea_memfile)

LEASE_SECONDS = 3600
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Server(ABC):
    """Base of the server kinds: `name`, `write_config`, `argv`, and the environment to start with."""

    name = ""
    # GETs, on the server's own namespace's loopback, after the load: an API served from the server's process
    # counts in its memory (Kea's is another process, kea-ctrl-agent, so it has none here).
    api_reads: tuple[str, ...] = ()

    @abstractmethod
    def write_config(self, workdir: Path, links: list[Link], leases: list[PreloadedLease] = ()) -> None:
        """Write this server's configuration for `links` and its lease file holding `leases` into `workdir`."""

    @abstractmethod
    def argv(self, workdir: Path, links: list[Link]) -> list[str]:
        """The foreground command line that serves `links` with the configuration in `workdir`."""

    def environment(self, workdir: Path) -> dict[str, str]:
        """Extra environment variables for the server process."""
        return {}


class Kea(Server):
    """kea-dhcp4 with a memfile lease file (persisted, no cleanup process) and raw sockets on every link."""

    name = "kea"

    def write_config(self, workdir: Path, links: list[Link], leases: list[PreloadedLease] = ()) -> None:
        write_kea_memfile(workdir / "kea-leases4.csv", leases)
        subnets = [{"id": index + 1, "subnet": str(link.network),
                    "pools": [{"pool": f"{link.pool_first} - {link.pool_last}"}]}
                   for index, link in enumerate(links)]
        config = {"Dhcp4": {
            "interfaces-config": {"interfaces": [link.server_device for link in links],
                                  "dhcp-socket-type": "raw"},
            "lease-database": {"type": "memfile", "persist": True, "lfc-interval": 0,
                               "name": str(workdir / "kea-leases4.csv")},
            "valid-lifetime": LEASE_SECONDS,
            "subnet4": subnets,
        }}
        (workdir / "kea-dhcp4.json").write_text(json.dumps(config, indent=1))

    def argv(self, workdir: Path, links: list[Link]) -> list[str]:
        return ["kea-dhcp4", "-c", str(workdir / "kea-dhcp4.json")]

    def environment(self, workdir: Path) -> dict[str, str]:
        return {"KEA_PIDFILE_DIR": str(workdir), "KEA_LOCKFILE_DIR": str(workdir)}


def write_dhcpd_conf(path: Path, links: list[Link]) -> None:
    """An ISC dhcpd.conf with one subnet declaration and range per link."""
    lines = ["authoritative;", "ping-check false;", f"default-lease-time {LEASE_SECONDS};",
             f"max-lease-time {LEASE_SECONDS};"]
    lines += [f"subnet {link.network.network_address} netmask {link.network.netmask} "
              f"{{ range {link.pool_first} {link.pool_last}; }}" for link in links]
    path.write_text("\n".join(lines) + "\n")


class IscDhcpd(Server):
    """isc-dhcpd 4.4 in the foreground, one lease file and pid file in the work directory."""

    name = "isc"

    def write_config(self, workdir: Path, links: list[Link], leases: list[PreloadedLease] = ()) -> None:
        write_dhcpd_conf(workdir / "dhcpd.conf", links)
        write_isc_leases(workdir / "dhcpd.leases", leases)

    def argv(self, workdir: Path, links: list[Link]) -> list[str]:
        return ["dhcpd", "-4", "-f", "-d", "-cf", str(workdir / "dhcpd.conf"), "-lf",
                str(workdir / "dhcpd.leases"), "-pf", str(workdir / "dhcpd.pid"),
                *[link.server_device for link in links]]


class Ours(IscDhcpd):
    """This project's server (python -m dhcpd), started on the same dhcpd.conf as isc-dhcpd, SQLite leases."""

    name = "ours"
    flags: tuple[str, ...] = ()
    api_reads = tuple(f"http://127.0.0.1:8067{path}"
                      for path in ("/api/v1/stats", "/api/v1/interfaces", "/api/v1/subnets", "/metrics"))

    def write_config(self, workdir: Path, links: list[Link], leases: list[PreloadedLease] = ()) -> None:
        """The configuration, an empty lease file to import, and the leases in its database already."""
        write_dhcpd_conf(workdir / "dhcpd.conf", links)
        write_isc_leases(workdir / "dhcpd.leases", [])
        store_preloaded(f"sqlite:///{workdir / 'leases.sqlite'}", leases, links)

    def argv(self, workdir: Path, links: list[Link]) -> list[str]:
        return [sys.executable, "-m", "dhcpd", "-f", "-d", "-cf", str(workdir / "dhcpd.conf"), "-lf",
                str(workdir / "dhcpd.leases"), "--db", f"sqlite:///{workdir / 'leases.sqlite'}", *self.flags,
                *[link.server_device for link in links]]

    def environment(self, workdir: Path) -> dict[str, str]:
        return {"PYTHONPATH": str(PROJECT_ROOT)}


class OursCrashDurable(Ours):
    """This project's server with `--durability crash`: an ACK waits for the commit to reach the operating system,
    not the disk, the guarantee Kea's memfile gives (it appends to its CSV file without syncing it)."""

    name = "ours-crash"
    flags = ("--durability", "crash")


class Dnsmasq(Server):
    """dnsmasq as a DHCP server only (port=0), bound to the served links, lease file in the work directory."""

    name = "dnsmasq"

    def write_config(self, workdir: Path, links: list[Link], leases: list[PreloadedLease] = ()) -> None:
        write_dnsmasq_leases(workdir / "dnsmasq.leases", leases)
        pool_size = sum(link.network.num_addresses for link in links)
        lines = ["port=0", "bind-interfaces", "dhcp-authoritative", "no-ping", "user=root",
                 f"dhcp-leasefile={workdir / 'dnsmasq.leases'}", f"dhcp-lease-max={pool_size}"]
        lines += [f"interface={link.server_device}" for link in links]
        lines += [f"dhcp-range={link.pool_first},{link.pool_last},{link.network.netmask},{LEASE_SECONDS}"
                  for link in links]
        (workdir / "dnsmasq.conf").write_text("\n".join(lines) + "\n")

    def argv(self, workdir: Path, links: list[Link]) -> list[str]:
        return ["dnsmasq", "-d", "-C", str(workdir / "dnsmasq.conf")]


def store_preloaded(url: str, leases: list[PreloadedLease], links: list[Link]) -> None:
    """This project's lease database at `url`, created with `leases` in it (as the server records a lease: with
    its subnet and link), through its own store."""
    from dhcpd.leases.record import Lease, LeaseLink, LeaseState
    from dhcpd.leases.store import LeaseStore

    store = LeaseStore(url)
    try:
        store.upgrade()
        store.bulk_insert(Lease(IPv4Address(lease.address), LeaseState.ACTIVE, lease.starts, lease.ends,
                                mac=lease.mac, client_id=lease.client_id, hostname=lease.hostname,
                                link=LeaseLink(subnet=str(links[lease.link_index].network),
                                               interface=links[lease.link_index].server_device))
                          for lease in leases)
    finally:
        store.close()


SERVER_KINDS: dict[str, type[Server]] = {
    kind.name: kind for kind in (Ours, OursCrashDurable, Kea, IscDhcpd, Dnsmasq)
}
