"""The guest kernel of the vm tier: 802.1Q VLANs, bonds and VLAN-filtering bridges pass traffic between
namespaces, and one unbound AF_PACKET/ETH_P_IP socket sees a broadcast sent into VLAN 10 exactly once,
on the device the server's design expects (the top of the stack). Runs inside the VM (scripts/test-vm).
"""

from __future__ import annotations

import secrets
import socket
import struct
import subprocess

import pytest

from tests.harness.namespace_sockets import open_inside
from tests.harness.netns import Namespace

pytestmark = pytest.mark.vm

ETH_P_IP = 0x0800
PACKET_TYPES = {0: "host", 1: "broadcast", 2: "multicast", 3: "otherhost", 4: "outgoing"}
GIVE_UP_SECONDS = 60.0  # a failure guard only: the test waits for a sentinel frame, not for time


def ip_batch(namespace: Namespace, commands: str, tool: str = "ip") -> None:
    """Run `ip` (or `bridge`) commands, one per line, in the namespace with a single process."""
    completed = subprocess.run(
        [tool, "-n", namespace.name, "-batch", "-"], input=commands, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr


def ping(namespace: Namespace, address: str) -> str:
    """Ping until one reply arrives (busybox ping: no ping binary in the image); return its output."""
    completed = namespace.run(["busybox", "ping", "-c", "1", "-w", "30", address], check=False, timeout=60)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def veth(a: Namespace, b: Namespace, name_a: str, name_b: str) -> None:
    subprocess.run(
        ["ip", "-n", a.name, "link", "add", name_a, "type", "veth", "peer", "name", name_b, "netns", b.name],
        check=True, timeout=60,
    )


def bond_of(slaves: tuple[str, ...]) -> str:
    """ip commands: an active-backup bond0 enslaving `slaves` in order (the first becomes active)."""
    lines = ["link add bond0 type bond mode active-backup miimon 100"]
    lines += [f"link set {slave} down\nlink set {slave} master bond0\nlink set {slave} up" for slave in slaves]
    return "\n".join(lines + ["link set bond0 up"]) + "\n"


def test_vlan_on_veth_trunk_passes_traffic(netns) -> None:
    a, b = netns("tvma"), netns("tvmb")
    veth(a, b, "ta", "tb")
    for ns, dev, addr in ((a, "ta", "10.10.0.1"), (b, "tb", "10.10.0.2")):
        ip_batch(ns, f"link set {dev} up\nlink add link {dev} name {dev}.10 type vlan id 10\n"
                     f"link set {dev}.10 up\naddress add {addr}/24 dev {dev}.10\n")
    assert "1 packets received" in ping(a, "10.10.0.2")


def test_vlan_on_active_backup_bond_passes_traffic(netns) -> None:
    a, b = netns("tvma"), netns("tvmb")
    veth(a, b, "a1", "b1")
    veth(a, b, "a2", "b2")
    for ns, slaves, addr in ((a, ("a1", "a2"), "10.20.0.1"), (b, ("b1", "b2"), "10.20.0.2")):
        ip_batch(ns, bond_of(slaves) + "link add link bond0 name bond0.20 type vlan id 20\n"
                     f"link set bond0.20 up\naddress add {addr}/24 dev bond0.20\n")
    assert "1 packets received" in ping(a, "10.20.0.2")
    mode = a.run(["cat", "/sys/class/net/bond0/bonding/mode"]).stdout
    assert mode.split()[0] == "active-backup"


def test_vlan_filtering_bridge_passes_tagged_traffic(netns) -> None:
    trunk, bridge, access = netns("tvmt"), netns("tvmbr"), netns("tvmacc")
    veth(trunk, bridge, "tt", "p1")
    veth(access, bridge, "aa", "p2")
    ip_batch(bridge, "link add br0 type bridge vlan_filtering 1\nlink set p1 master br0\nlink set p2 master br0\n"
                     "link set p1 up\nlink set p2 up\nlink set br0 up\n")
    ip_batch(bridge, "vlan add dev p1 vid 20\nvlan del dev p2 vid 1\nvlan add dev p2 vid 20 pvid untagged\n",
             tool="bridge")
    ip_batch(trunk, "link set tt up\nlink add link tt name tt.20 type vlan id 20\nlink set tt.20 up\n"
                    "address add 10.30.0.1/24 dev tt.20\n")
    ip_batch(access, "link set aa up\naddress add 10.30.0.2/24 dev aa\n")
    assert "1 packets received" in ping(trunk, "10.30.0.2")
    vlans = bridge.run(["bridge", "vlan", "show", "dev", "p1"]).stdout
    assert "20" in vlans


# Each stack: (router-side ip commands, client-side ip commands, device the client sends on,
# device the router's ETH_P_IP socket should see the broadcast on). Addresses: router .1, client .2.
STACKS = {
    "vlan on veth": (
        "link set r1 up\nlink add link r1 name r1.10 type vlan id 10\nlink set r1.10 up\n"
        "address add 10.10.0.1/24 dev r1.10\n",
        "link set c1 up\nlink add link c1 name c1.10 type vlan id 10\nlink set c1.10 up\n",
        "c1.10", "r1.10",
    ),
    "vlan on bond": (
        bond_of(("r1", "r2")) + "link add link bond0 name bond0.10 type vlan id 10\nlink set bond0.10 up\n"
        "address add 10.10.0.1/24 dev bond0.10\n",
        bond_of(("c1", "c2")) + "link add link bond0 name bond0.10 type vlan id 10\nlink set bond0.10 up\n",
        "bond0.10", "bond0.10",
    ),
    "bridge over vlans": (
        "link add br0 type bridge\n"
        + "".join(f"link set {p} up\nlink add link {p} name {p}.10 type vlan id 10\n"
                  f"link set {p}.10 master br0\nlink set {p}.10 up\n" for p in ("r1", "r2"))
        + "link set br0 up\naddress add 10.10.0.1/24 dev br0\n",
        "link set c1 up\nlink set c2 up\nlink add link c1 name c1.10 type vlan id 10\nlink set c1.10 up\n",
        "c1.10", "br0",
    ),
    "vlan on bridge": (
        "link add br0 type bridge\nlink set r1 master br0\nlink set r1 up\nlink set r2 master br0\nlink set r2 up\n"
        "link set br0 up\nlink add link br0 name br0.10 type vlan id 10\nlink set br0.10 up\n"
        "address add 10.10.0.1/24 dev br0.10\n",
        "link set c1 up\nlink set c2 up\nlink add link c1 name c1.10 type vlan id 10\nlink set c1.10 up\n",
        "c1.10", "br0.10",
    ),
}


def udp_port_67_payload(frame: bytes) -> bytes | None:
    """The UDP payload of an Ethernet/IPv4/UDP frame to port 67, else None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != socket.IPPROTO_UDP:
        return None
    udp = 14 + (frame[14] & 0x0F) * 4
    (dport,) = struct.unpack_from("!H", frame, udp + 2)
    return frame[udp + 8:] if dport == 67 else None


def broadcast_sender(device: str):
    def open_sender() -> socket.socket:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        sender.bind(("10.10.0.2", 68))
        return sender
    return open_sender


def copies_seen(listener: socket.socket, sender: socket.socket, token: bytes) -> list[tuple[str, str]]:
    """Send `token` then a sentinel as UDP broadcasts; return (device, packet type) of each copy of
    `token` the listener got before the sentinel (all copies of one frame are queued before the next)."""
    sentinel = token + b"-sentinel"
    sender.sendto(token, ("255.255.255.255", 67))
    sender.sendto(sentinel, ("255.255.255.255", 67))
    listener.settimeout(GIVE_UP_SECONDS)
    seen = []
    while True:
        frame, (ifname, _proto, pkttype, *_rest) = listener.recvfrom(65535)
        payload = udp_port_67_payload(frame)
        if payload == sentinel:
            return seen
        if payload == token:
            seen.append((ifname, PACKET_TYPES.get(pkttype, str(pkttype))))


@pytest.mark.parametrize("stack", list(STACKS))
def test_one_eth_p_ip_socket_sees_vlan_broadcast_once_on_top_device(netns, stack: str) -> None:
    router_cmds, client_cmds, client_dev, expected_dev = STACKS[stack]
    router, client = netns("tvmr"), netns("tvmc")
    veth(router, client, "r1", "c1")
    veth(router, client, "r2", "c2")
    ip_batch(router, router_cmds)
    ip_batch(client, client_cmds + f"address add 10.10.0.2/24 dev {client_dev}\n")
    ping(client, "10.10.0.1")
    listener = open_inside(router, lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP)))
    sender = open_inside(client, broadcast_sender(client_dev))
    with listener, sender:
        seen = copies_seen(listener, sender, secrets.token_hex(8).encode())
    print(f"\nAF_PACKET ETH_P_IP | {stack:<17} | seen on {seen}")
    assert seen == [(expected_dev, "broadcast")]
