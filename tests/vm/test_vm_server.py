"""The server on the VM's real kernel: VLANs on a veth trunk, VLANs on an active-backup, a balance-xor and an
802.3ad (LACP) bond, and VLAN devices on a vlan_filtering bridge (a trunk port and an access port). Real clients
in their own namespaces get leases from the right subnet, each lease names the VLAN device (and id) it came
through, every request gets exactly one reply, one packet socket serves over a hundred VLAN devices, and a VLAN
device added while the server runs is served while one that loses its address, or goes, is not.

One server in one namespace serves every stack (a server start costs a minute or more under TCG). Runs inside
the VM (scripts/test-vm).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

import pytest

from dhcpd.leases.record import Lease, LeaseState
from dhcpd.leases.store import LeaseStore
from dhcpd.wire.message import DhcpMessage, MessageType
from tests.harness.clients import Dhclient, DhcpClient, Dhcpcd, Udhcpc
from tests.harness.netns import Namespace, NamespaceFactory
from tests.harness.process import Process
from tests.harness.pydhcpd import database_url, start_server
from tests.harness.rawclient import RawClient
from tests.harness.waiting import poll

pytestmark = pytest.mark.vm

# Generous failure guards for a loaded TCG guest; no test asserts on how long anything takes.
SERVER_START_TIMEOUT = 600.0
CLIENT_TIMEOUT = 120.0
REPLY_TIMEOUT = 60.0
SECOND_REPLY_WAIT = 3.0     # how long a second (duplicate) reply, or a reply that must not come, is waited for
LIVE_CHANGE_TIMEOUT = 120.0

MANY_VLANS = range(100, 200)    # t0.100 .. t0.199, VLAN n in 10.41.(n-100).0/24
LIVE_VLAN = 60                  # created and removed while the server runs
LACP = "802.3ad lacp_rate fast"  # both ends negotiate LACP over their two veths


@dataclass(frozen=True)
class Stack:
    """One served VLAN: where the client is and what the server should record."""

    client_prefix: str          # the client namespace (one per stack side, see `site`)
    client_device: str
    server_device: str          # the VLAN device the lease must name
    vlan: int                   # 802.1Q id inside the stack (for the access port: the port's pvid)
    client_program: type[DhcpClient]

    @property
    def subnet(self) -> IPv4Network:
        return IPv4Network(f"10.40.{self.vlan}.0/24")


STACKS = {
    "veth trunk, vlan 10": Stack("tvst", "t0.10", "t0.10", 10, Dhclient),
    "veth trunk, vlan 11": Stack("tvst", "t0.11", "t0.11", 11, Udhcpc),
    "active-backup bond": Stack("tvsa", "bond0.20", "bond0.20", 20, Dhcpcd),
    "balance-xor bond": Stack("tvsx", "bond1.30", "bond1.30", 30, Dhclient),
    "802.3ad bond": Stack("tvsl", "bond2.50", "bond2.50", 50, Udhcpc),
    "vlan_filtering bridge, trunk port": Stack("tvsb", "p1.40", "br0.40", 40, Udhcpc),
    "vlan_filtering bridge, access port": Stack("tvsp", "p2", "br0.41", 41, Dhcpcd),
}


def bond(name: str, mode: str, slaves: tuple[str, str], vlan: int) -> str:
    """ip commands: bond `name` in `mode` (with its options) of `slaves` (the first becomes active), with VLAN
    device `name.vlan` on top."""
    lines = [f"link add {name} type bond mode {mode} miimon 100"]
    lines += [f"link set {slave} down\nlink set {slave} master {name}\nlink set {slave} up" for slave in slaves]
    lines += [f"link set {name} up", f"link add link {name} name {name}.{vlan} type vlan id {vlan}",
              f"link set {name}.{vlan} up"]
    return "\n".join(lines) + "\n"


def vlan_device(lower: str, vlan: int, address: str | None = None) -> str:
    commands = f"link add link {lower} name {lower}.{vlan} type vlan id {vlan}\nlink set {lower}.{vlan} up\n"
    return commands + (f"address add {address} dev {lower}.{vlan}\n" if address else "")


SERVER_LINKS = (
    vlan_device("t0", 10, "10.40.10.1/24") + vlan_device("t0", 11, "10.40.11.1/24")
    + "".join(vlan_device("t0", n, f"10.41.{n - 100}.1/24") for n in MANY_VLANS)
    + bond("bond0", "active-backup", ("a1", "a2"), 20) + "address add 10.40.20.1/24 dev bond0.20\n"
    + bond("bond1", "balance-xor", ("x1", "x2"), 30) + "address add 10.40.30.1/24 dev bond1.30\n"
    + bond("bond2", LACP, ("l1", "l2"), 50) + "address add 10.40.50.1/24 dev bond2.50\n"
    + "link add br0 type bridge vlan_filtering 1\nlink set p1 master br0\nlink set p2 master br0\nlink set br0 up\n"
    + vlan_device("br0", 40, "10.40.40.1/24") + vlan_device("br0", 41, "10.40.41.1/24")
)
BRIDGE_VLANS = (
    "vlan add dev p1 vid 40\nvlan add dev p1 vid 41\n"
    "vlan del dev p2 vid 1\nvlan add dev p2 vid 41 pvid untagged\n"
    "vlan add dev br0 vid 40 self\nvlan add dev br0 vid 41 self\n"
)
CLIENT_LINKS = {
    "tvst": vlan_device("t0", 10) + vlan_device("t0", 11),
    "tvsa": bond("bond0", "active-backup", ("a1", "a2"), 20),
    "tvsx": bond("bond1", "balance-xor", ("x1", "x2"), 30),
    "tvsl": bond("bond2", LACP, ("l1", "l2"), 50),
    "tvsb": vlan_device("p1", 40),
    "tvsp": "",
}
VETHS = {"tvst": ("t0",), "tvsa": ("a1", "a2"), "tvsx": ("x1", "x2"), "tvsl": ("l1", "l2"), "tvsb": ("p1",),
         "tvsp": ("p2",)}


def config() -> str:
    """Every 10.40.V.0/24 of the stacks and the live VLAN, and one subnet per VLAN of MANY_VLANS."""
    subnets = [f"10.40.{vlan}" for vlan in (*sorted({stack.vlan for stack in STACKS.values()}), LIVE_VLAN)]
    subnets += [f"10.41.{n - 100}" for n in MANY_VLANS]
    return "authoritative;\ndefault-lease-time 3600;\nmax-lease-time 7200;\n" + "".join(
        f"subnet {net}.0 netmask 255.255.255.0 {{ range {net}.100 {net}.199; }}\n" for net in subnets
    )


def run_batch(namespace: Namespace, commands: str, tool: str = "ip") -> None:
    """Run `ip` (or `bridge`) commands, one per line, in the namespace with a single process."""
    batch = namespace.workdir / f"{tool}-{len(list(namespace.workdir.glob(f'{tool}-*.batch')))}.batch"
    batch.write_text(commands)
    namespace.run([tool, "-batch", str(batch)], timeout=300)


@dataclass
class Site:
    server: Namespace
    clients: dict[str, Namespace]
    process: Process

    def leases(self) -> dict[IPv4Address, Lease]:
        store = LeaseStore(database_url(self.server))
        try:
            return {lease.ip: lease for lease in store.load_all()}
        finally:
            store.close()

    def ifindex(self, device: str) -> int:
        return int(self.server.run(["cat", f"/sys/class/net/{device}/ifindex"]).stdout)


@pytest.fixture(scope="module")
def site(module_netns: NamespaceFactory) -> Site:
    """The server namespace wired to one client namespace per stack side, all stacks built, the server up."""
    server = module_netns("tvsr")
    clients = {prefix: module_netns(prefix) for prefix in VETHS}
    for prefix, names in VETHS.items():
        for name in names:
            server.veth(clients[prefix], name, name)
    run_batch(server, SERVER_LINKS)
    run_batch(server, BRIDGE_VLANS, tool="bridge")
    for prefix, commands in CLIENT_LINKS.items():
        if commands:
            run_batch(clients[prefix], commands)
    process = start_server(server, config(), extra_args=("--api", "off"), timeout=SERVER_START_TIMEOUT)
    return Site(server, clients, process)


def every_reply(client: RawClient, xid: int, vlans: tuple[int, ...] = ()) -> list[tuple[DhcpMessage, tuple[int, ...]]]:
    """Send one DISCOVER; every reply to it with its VLAN tags: the first within REPLY_TIMEOUT, any more
    within SECOND_REPLY_WAIT."""
    client.send(client.request(MessageType.DISCOVER, xid), vlans=vlans)
    first = client.replies(xid, timeout=REPLY_TIMEOUT)
    return first + (client.replies(xid, timeout=SECOND_REPLY_WAIT) if first else [])


def answer(client: RawClient, xid: int, vlans: tuple[int, ...], wait: float) -> DhcpMessage | None:
    """The reply to one DISCOVER, or None if none came within `wait` seconds."""
    client.send(client.request(MessageType.DISCOVER, xid), vlans=vlans)
    replies = client.replies(xid, timeout=wait)
    return replies[0][0] if replies else None


@pytest.mark.slow
@pytest.mark.parametrize("name", list(STACKS))
def test_real_client_gets_a_lease_from_its_vlan_subnet_recorded_on_that_vlan_device(site: Site, name: str) -> None:
    stack = STACKS[name]
    client = stack.client_program(site.clients[stack.client_prefix], stack.client_device)
    address = client.acquire(CLIENT_TIMEOUT)
    assert address is not None and address in stack.subnet, (address, site.process.log()[-3000:])
    lease = site.leases()[address]
    print(f"\n{name}: {client.program} got {address}; lease interface={lease.interface} "
          f"ifindex={lease.ifindex} vlan={lease.vlan}")
    assert lease.state is LeaseState.ACTIVE
    assert (lease.interface, lease.ifindex, lease.vlan) == (
        stack.server_device, site.ifindex(stack.server_device), stack.vlan)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(STACKS))
def test_one_discover_gets_exactly_one_offer(site: Site, name: str) -> None:
    stack = STACKS[name]
    mac = bytes.fromhex(f"0200007600{stack.vlan:02x}")
    client = RawClient(site.clients[stack.client_prefix], stack.client_device, mac)
    try:
        replies = every_reply(client, 0x7600 + stack.vlan)
    finally:
        client.close()
    assert [reply.message_type for reply, _tags in replies] == [MessageType.OFFER], site.process.log()[-3000:]
    assert replies[0][0].yiaddr in stack.subnet


@pytest.mark.slow
def test_one_packet_socket_serves_a_hundred_vlan_devices(site: Site) -> None:
    sockets = site.server.run(["cat", "/proc/net/packet"]).stdout.strip().splitlines()[1:]
    assert len(sockets) == 1, sockets
    served = len(STACKS) + len(MANY_VLANS)
    assert f"serving {served} link(s)" in site.process.log()
    client = RawClient(site.clients["tvst"], "t0", bytes.fromhex("020000760150"))
    try:
        replies = every_reply(client, 0x7650, vlans=(150,))
    finally:
        client.close()
    assert [(reply.message_type, tags) for reply, tags in replies] == [(MessageType.OFFER, (150,))], \
        site.process.log()[-3000:]
    assert replies[0][0].yiaddr in IPv4Network("10.41.50.0/24")


@pytest.mark.slow
def test_vlan_device_added_while_running_is_served_and_stops_being_served_when_unaddressed_or_removed(
        site: Site) -> None:
    device, tags = f"t0.{LIVE_VLAN}", (LIVE_VLAN,)
    client = RawClient(site.clients["tvst"], "t0", bytes.fromhex("020000760060"))
    xids = iter(range(0x76000, 0x77000))
    try:
        assert answer(client, next(xids), tags, SECOND_REPLY_WAIT) is None
        run_batch(site.server, vlan_device("t0", LIVE_VLAN, f"10.40.{LIVE_VLAN}.1/24"))
        offer = poll(lambda: answer(client, next(xids), tags, SECOND_REPLY_WAIT), LIVE_CHANGE_TIMEOUT)
        assert offer is not None and offer.yiaddr in IPv4Network(f"10.40.{LIVE_VLAN}.0/24"), site.process.log()[-3000:]

        site.server.run(["ip", "address", "flush", "dev", device])
        unanswered = poll(lambda: True if answer(client, next(xids), tags, SECOND_REPLY_WAIT) is None else None,
                          LIVE_CHANGE_TIMEOUT)
        assert unanswered, "the server kept serving a VLAN device without an address in a declared subnet"
        assert answer(client, next(xids), tags, SECOND_REPLY_WAIT) is None

        site.server.run(["ip", "link", "delete", device])
        assert answer(client, next(xids), tags, SECOND_REPLY_WAIT) is None
        assert answer(client, next(xids), (10,), REPLY_TIMEOUT) is not None, "the server stopped serving VLAN 10"
    finally:
        client.close()
    assert site.process.alive()
