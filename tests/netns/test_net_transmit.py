"""Transmitter: each RFC 2131 4.1 destination reaches a peer namespace the way a client or relay expects,
trunk replies carry their tags, and a vanished device is counted instead of raised."""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Address

import pytest

from dhcpd.engine.types import Destination, DestinationKind, Ingress
from dhcpd.net.guard import open_guard_socket
from dhcpd.net.interfaces import InterfaceTable
from dhcpd.net.rawsock import SOL_PACKET, PACKET_AUXDATA, open_packet_socket
from dhcpd.net.transmit import Transmitter
from tests.harness.namespace_sockets import open_inside

pytestmark = pytest.mark.netns

SERVER_IP = IPv4Address("10.78.0.1")
PEER_IP = IPv4Address("10.78.0.2")
BROADCAST = IPv4Address("255.255.255.255")
WAIT_SECONDS = 5.0
ETH_P_ALL = 0x0003
AUXDATA = struct.Struct("=IIIHHHH")      # struct tpacket_auxdata


@pytest.fixture
def server_and_peer(netns):
    server, peer = netns("tnet"), netns("tnet")
    server.veth(peer, "srv0", "eth0")
    server.add_address("srv0", f"{SERVER_IP}/24")
    peer.add_address("eth0", f"{PEER_IP}/24")
    return server, peer


def udp_bound(address: str, port: int):
    def opener() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((address, port))
        return sock
    return opener


def tag_listener() -> socket.socket:
    """Every frame arriving on eth0, with PACKET_AUXDATA to see the VLAN tag the kernel took off."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind(("eth0", ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    return sock


def send_from_server(requests: list[tuple[bytes, Destination, Ingress | None]]) -> dict[str, int]:
    """Runs inside the server namespace; an ingress of None means srv0 untagged. Returns the error counts."""
    table = InterfaceTable()
    table.load()
    srv0 = table.by_name("srv0")
    with open_packet_socket() as packet_sock, open_guard_socket() as guard_sock:
        transmitter = Transmitter(packet_sock, guard_sock, table)
        for payload, destination, ingress in requests:
            transmitter.send(payload, destination, ingress or Ingress(ifname="srv0", ifindex=srv0.index), SERVER_IP)
        return dict(transmitter.errors)


def receive_datagrams(sock: socket.socket, count: int) -> list[tuple[bytes, tuple[str, int]]]:
    sock.settimeout(WAIT_SECONDS)
    return [sock.recvfrom(2048) for _ in range(count)]


def test_each_destination_kind_reaches_the_peer(server_and_peer):
    server, peer = server_and_peer
    peer_mac = bytes.fromhex(peer.run(["cat", "/sys/class/net/eth0/address"]).stdout.strip().replace(":", ""))
    with open_inside(peer, udp_bound("0.0.0.0", 68)) as client, \
            open_inside(peer, udp_bound(str(PEER_IP), 67)) as relay:
        errors = server.call(send_from_server, [
            (b"broadcast", Destination(DestinationKind.BROADCAST, BROADCAST, 68), None),
            (b"to chaddr", Destination(DestinationKind.UNICAST_CHADDR, PEER_IP, 68, mac=peer_mac), None),
            (b"to ciaddr", Destination(DestinationKind.UNICAST_CIADDR, PEER_IP, 68), None),
            (b"to relay", Destination(DestinationKind.RELAY, PEER_IP, 67), None),
            (b"lost", Destination(DestinationKind.BROADCAST, BROADCAST, 68), Ingress(ifname="gone", ifindex=99999)),
        ])
        to_client = sorted(receive_datagrams(client, 3))
        to_relay = receive_datagrams(relay, 1)
    from_server = (str(SERVER_IP), 67)
    assert to_client == [(b"broadcast", from_server), (b"to chaddr", from_server), (b"to ciaddr", from_server)]
    assert to_relay == [(b"to relay", from_server)]
    assert errors == {"ENODEV": 1}


@pytest.mark.parametrize("vlan, inner_vlan", [(105, None), (100, 200)])
def test_trunk_ingress_reply_is_tagged(server_and_peer, vlan, inner_vlan):
    server, peer = server_and_peer
    with open_inside(peer, tag_listener) as listener:
        srv0_index = int(server.run(["cat", "/sys/class/net/srv0/ifindex"]).stdout)
        trunk = Ingress(ifname="srv0", ifindex=srv0_index, vlan=vlan, inner_vlan=inner_vlan)
        errors = server.call(send_from_server, [
            (b"tagged offer", Destination(DestinationKind.BROADCAST, BROADCAST, 68), trunk),
        ])
        listener.settimeout(WAIT_SECONDS)
        while True:
            frame, ancillary, _, _ = listener.recvmsg(2048, socket.CMSG_SPACE(AUXDATA.size))
            if frame.endswith(b"tagged offer"):
                break
    (_, _, auxdata), = ancillary
    _, _, _, _, _, tci, tpid = AUXDATA.unpack(auxdata[:AUXDATA.size])
    # The receiving veth moves the outer tag into packet metadata; an inner tag stays in the frame.
    assert errors == {}
    assert tci & 0x0FFF == vlan
    if inner_vlan is None:
        assert (tpid, frame[12:14]) == (0x8100, b"\x08\x00")
    else:
        assert (tpid, frame[12:18]) == (0x88A8, b"\x81\x00" + inner_vlan.to_bytes(2, "big") + b"\x08\x00")
