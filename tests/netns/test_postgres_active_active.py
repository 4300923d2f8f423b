"""Two servers on one PostgreSQL serving one bridged segment at once: no address is acknowledged to two
clients, also when a server is killed with SIGKILL under load or when PostgreSQL restarts under load.

Topology: a "switch" namespace with a bridge; two server namespaces (10.88.0.1 and .2) and two perfdhcp
namespaces (.11 and .12) are its ports. perfdhcp acts as a relay and sends to ONE server address, so each
perfdhcp instance loads one server, with its own base MAC (distinct clients), both at the same time, both
servers allocating from the same pool. The proof reads the servers' `DHCPACK on IP to MAC` lines: no address
is acknowledged to two MACs, and every acknowledged address's row in the database belongs to that MAC.
"""

from __future__ import annotations

import re
import signal
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address

import pytest

from dhcpd.leases.store import LeaseStore
from dhcpd.wire.message import MessageType
from tests.harness.perfdhcp import ExchangeStats, parse_report
from tests.harness.postgres import throwaway_cluster
from tests.harness.pydhcpd import start_server
from tests.harness.rawclient import RawClient
from tests.harness.waiting import poll

pytestmark = [pytest.mark.netns, pytest.mark.slow]

CONFIG = """
authoritative;
default-lease-time 3600;
subnet 10.88.0.0 netmask 255.255.0.0 {
  range 10.88.1.0 10.88.60.255;
}
"""
SERVER_ADDRESSES = ("10.88.0.1", "10.88.0.2")
LOADER_ADDRESSES = ("10.88.0.11", "10.88.0.12")
BASE_MACS = ("02:a1:00:00:00:00", "02:b2:00:00:00:00", "02:c3:00:00:00:00")
ACK_LINE = re.compile(r"DHCPACK on (\d+\.\d+\.\d+\.\d+) to ([0-9a-f:]{17})")
RATE, EXCHANGES = 200, 2000


@pytest.fixture(scope="module")
def cluster():
    with throwaway_cluster() as running:
        yield running


class Segment:
    """The bridged segment: server and perfdhcp namespaces, the database, the running servers."""

    def __init__(self, netns, url: str) -> None:
        self.url = url
        switch = netns("tpgsw")
        switch.add_bridge("br0")
        self.server_namespaces = [netns(f"tpgs{n}") for n in (1, 2)]
        self.loaders = [netns(f"tpgp{n}") for n in (1, 2)]
        for port, (namespace, address) in enumerate(zip(self.server_namespaces + self.loaders,
                                                        SERVER_ADDRESSES + LOADER_ADDRESSES)):
            switch.veth(namespace, f"port{port}", "e0")
            switch.attach_to_bridge(f"port{port}", "br0")
            namespace.add_address("e0", f"{address}/16")
        self.servers = [self.start(n) for n in (0, 1)]

    def start(self, n: int):
        return start_server(self.server_namespaces[n], CONFIG, ["e0"], extra_args=["--db", self.url])

    def load(self, loader: int, server: int, base_mac: str):
        """perfdhcp from loader namespace `loader` to server `server`, in the background."""
        argv = ["perfdhcp", "-4", "-l", "e0", "-r", str(RATE), "-n", str(EXCHANGES), "-R", str(EXCHANGES),
                "-W", "1000000", "-b", f"mac={base_mac}", SERVER_ADDRESSES[server]]
        return self.loaders[loader].spawn(argv)

    def acks(self) -> list[tuple[str, str]]:
        """Every (address, MAC) a server logged as acknowledged, from both servers' logs."""
        return [pair for server in self.servers for pair in ACK_LINE.findall(server.log())]

    def stored_owners(self) -> dict[str, str]:
        store = LeaseStore(self.url)
        try:
            return {str(lease.ip): lease.mac.hex(":") for lease in store.load_all() if lease.mac is not None}
        finally:
            store.close()


@pytest.fixture
def segment(netns, cluster, request):
    return Segment(netns, cluster.create_database(request.node.name.replace("test_", "")[:40]))


def finished(process, timeout: float = 90.0) -> ExchangeStats:
    process.wait(timeout)
    return parse_report(process.log())["REQUEST-ACK"]


def assert_one_owner_per_address(segment: Segment) -> int:
    """No address acknowledged to two MACs, and each acknowledged address stored for its MAC; returns ACKs."""
    acks = segment.acks()
    owners: dict[str, set[str]] = {}
    for address, mac in acks:
        owners.setdefault(address, set()).add(mac)
    duplicates = {address: macs for address, macs in owners.items() if len(macs) > 1}
    assert duplicates == {}
    stored = segment.stored_owners()
    lost = {address: mac for address, mac in acks if stored.get(address) != mac}
    assert lost == {}
    return len(acks)


def test_two_servers_under_load_never_acknowledge_one_address_to_two_clients(segment):
    loads = [segment.load(0, 0, BASE_MACS[0]), segment.load(1, 1, BASE_MACS[1])]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(finished, loads))
    acknowledged = assert_one_owner_per_address(segment)
    assert acknowledged > 0 and sum(result.received for result in results) > 0
    assert all(result.non_unique_addresses == 0 for result in results)


def test_a_server_killed_under_load_keeps_every_acknowledged_lease_and_its_clients(segment):
    victim = segment.servers[0]
    load = segment.load(0, 0, BASE_MACS[0])
    assert poll(lambda: True if len(ACK_LINE.findall(victim.log())) >= 300 else None, 60), victim.log()
    victim.signal(signal.SIGKILL)
    victim.wait(10)
    load.wait(90)
    before = ACK_LINE.findall(victim.log())
    stored = segment.stored_owners()
    assert {address: mac for address, mac in before if stored.get(address) != mac} == {}

    segment.servers[0] = segment.start(0)
    returning_address, returning_mac = before[0]
    client = RawClient(segment.loaders[1], "e0", bytes.fromhex(returning_mac.replace(":", "")))
    try:
        client.send(client.request(MessageType.DISCOVER, 77))
        offers = [reply.yiaddr for reply, _ in client.replies(77, count=2)]
    finally:
        client.close()
    assert offers and set(offers) == {IPv4Address(returning_address)}
    finished(segment.load(0, 0, BASE_MACS[2]))
    assert assert_one_owner_per_address(segment) > len(before)


def test_postgres_restarted_under_load_fails_only_those_commits_and_the_servers_resume(segment, cluster):
    loads = [segment.load(0, 0, BASE_MACS[0]), segment.load(1, 1, BASE_MACS[1])]
    assert poll(lambda: True if len(segment.acks()) >= 300 else None, 60)
    cluster.stop()
    assert poll(lambda: True if all("lease not committed" in s.log() for s in segment.servers) else None, 30)
    cluster.start()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(finished, loads))
    for server in segment.servers:
        after_outage = server.log().rsplit("lease not committed", 1)[1]
        assert ACK_LINE.search(after_outage), server.log()[-3000:]
        assert server.alive()
    assert_one_owner_per_address(segment)
