"""Network namespaces and veth links for one benchmark topology, created on entry and deleted on exit.

Namespaces: SERVER holds the server side of every link, CLIENT holds c0 (where perfdhcp runs), FAR holds the
peer ends of the extra links. Link 0 is s0 (10.99.0.1/16) <-> c0 (10.99.0.2/16); extra link i is
s<i> (10.<100 + i // 250>.<i % 250>.1/24) <-> f<i> (.2) so thousands of VLANs can be modelled cheaply.
"""

import ipaddress
import os
import subprocess
import tempfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Link:
    """One served link: the server-side device, its subnet and pool, and the peer device that clients use."""

    server_device: str
    server_address: str
    network: ipaddress.IPv4Network
    pool_first: str
    pool_last: str
    peer_namespace: str
    peer_device: str
    peer_address: str


def run_ip(*args: str) -> None:
    """Run one `ip` command; raise with its stderr on failure."""
    finished = subprocess.run(["ip", *args], capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)[:200]}: {finished.stderr.strip()[:300]}")


def _run_ip_batch(options: list[str], commands: str) -> None:
    """Run an `ip -batch` script of `commands` (one per line) with global `options` such as -n NAMESPACE."""
    with tempfile.NamedTemporaryFile("w", suffix=".ip", delete=False) as script:
        script.write(commands)
    try:
        run_ip(*options, "-batch", script.name)
    finally:
        os.unlink(script.name)


def _first_link(client_namespace: str) -> Link:
    return Link("s0", "10.99.0.1", ipaddress.IPv4Network("10.99.0.0/16"), "10.99.1.0", "10.99.250.255",
                client_namespace, "c0", "10.99.0.2")


def extra_link(index: int, far_namespace: str) -> Link:
    prefix = f"10.{100 + index // 250}.{index % 250}"
    return Link(f"s{index}", f"{prefix}.1", ipaddress.IPv4Network(f"{prefix}.0/24"), f"{prefix}.10",
                f"{prefix}.250", far_namespace, f"f{index}", f"{prefix}.2")


class Topology:
    """Context manager that builds `link_count` veth links between fresh namespaces and removes them after."""

    def __init__(self, link_count: int, tag: str | None = None):
        tag = tag or str(os.getpid())
        self.server_namespace = f"bch-srv-{tag}"
        self.client_namespace = f"bch-cli-{tag}"
        self.far_namespace = f"bch-far-{tag}"
        self.links = [_first_link(self.client_namespace)]
        self.links += [extra_link(i, self.far_namespace) for i in range(1, link_count)]
        self._created: list[str] = []

    def __enter__(self) -> "Topology":
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _create(self) -> None:
        for namespace in (self.server_namespace, self.client_namespace, self.far_namespace):
            run_ip("netns", "add", namespace)
            self._created.append(namespace)
            # No IPv6 on the links to come: thousands of new interfaces would otherwise run duplicate address
            # detection, router solicitations and MLD reports for seconds, kernel work on the server's CPU that
            # cost the first load steps at 4,000 links 14 % of their exchanges.
            subprocess.run(["ip", "netns", "exec", namespace, "sysctl", "-q", "-w",
                            "net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.all.disable_ipv6=1"],
                           check=True, capture_output=True)
        _run_ip_batch([], "".join(
            f"link add {link.server_device} netns {self.server_namespace} type veth"
            f" peer name {link.peer_device} netns {link.peer_namespace}\n" for link in self.links))
        _run_ip_batch(["-n", self.server_namespace], "link set lo up\n" + "".join(
            f"addr add {link.server_address}/{link.network.prefixlen} dev {link.server_device}\n"
            f"link set {link.server_device} up\n" for link in self.links))
        for namespace in (self.client_namespace, self.far_namespace):
            _run_ip_batch(["-n", namespace], "link set lo up\n" + "".join(
                f"addr add {link.peer_address}/{link.network.prefixlen} dev {link.peer_device}\n"
                f"link set {link.peer_device} up\n" for link in self.links if link.peer_namespace == namespace))

    def close(self) -> None:
        """Delete every namespace this topology created (their veth pairs go with them)."""
        while self._created:
            subprocess.run(["ip", "netns", "del", self._created.pop()], capture_output=True)

    def command_in(self, namespace: str, argv: list[str], cpu: int | None = None) -> list[str]:
        """The argv that runs `argv` inside `namespace`, pinned to `cpu` when given (exec keeps the pid)."""
        pinned = ["taskset", "-c", str(cpu), *argv] if cpu is not None else argv
        return ["ip", "netns", "exec", namespace, *pinned]

    def packet_socket_count(self) -> int:
        """Lines in /proc/net/packet of the server namespace: the packet sockets open there."""
        listing = subprocess.run(self.command_in(self.server_namespace, ["cat", "/proc/net/packet"]),
                                 check=True, capture_output=True, text=True).stdout
        return max(0, len(listing.strip().splitlines()) - 1)
