"""The interface table: every link of the namespace with its kind, MAC, master, lower link, VLAN id and IPv4
addresses, loaded from netlink and kept current from netlink events (pyroute2 decodes the messages).

Lookups are dictionary reads; no netlink call ever happens on the packet path. `attach(loop)` subscribes to
link and IPv4 address events on a non-blocking netlink socket read by the event loop, so a VLAN, bridge or
address added at runtime is known as soon as the kernel announces it. If the kernel drops events because
the socket overflowed (ENOBUFS, e.g. thousands of VLANs created at once) the table is dumped again.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from dataclasses import dataclass, field
from ipaddress import IPv4Interface
from typing import Callable

from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from dhcpd.net.netlink import dump_ipv4_addresses, dump_links

log = logging.getLogger(__name__)

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR = 16, 17, 20, 21
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
NETLINK_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024
NETLINK_READ_BYTES = 1 << 16
# A frame received on a port of these is served as the master: the kernel delivers it on the master.
AGGREGATING_MASTER_KINDS = frozenset({"bridge", "bond", "team"})


@dataclass
class Link:
    index: int
    name: str
    kind: str                          # "veth", "bridge", "bond", "vlan", "macvlan", "loopback", "device"...
    mac: bytes
    up: bool
    master: int | None
    lower: int | None                  # IFLA_LINK in this namespace: a VLAN's or macvlan's parent (None for veth)
    vlan_id: int | None
    addresses: list[IPv4Interface] = field(default_factory=list)


def link_from_message(message) -> Link:
    """A Link (without addresses) from an RTM_NEWLINK message (pyroute2 ifinfmsg)."""
    flags = message["flags"]
    kind = message.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
    if kind is None:
        kind = "loopback" if flags & IFF_LOOPBACK else "device"
    lower = message.get("IFLA_LINK")
    # A veth's IFLA_LINK is its peer, not a device it is stacked on; with IFLA_LINK_NETNSID present the
    # index belongs to another namespace.
    if lower == message["index"] or not lower or kind == "veth" or message.get("IFLA_LINK_NETNSID") is not None:
        lower = None
    mac_text = message.get("IFLA_ADDRESS")
    return Link(
        index=message["index"],
        name=message.get("IFLA_IFNAME"),
        kind=kind,
        mac=bytes.fromhex(mac_text.replace(":", "")) if mac_text else b"",
        up=bool(flags & IFF_UP),
        master=message.get("IFLA_MASTER") or None,
        lower=lower,
        vlan_id=message.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "IFLA_VLAN_ID") if kind == "vlan" else None,
    )


def address_from_message(message) -> IPv4Interface:
    """The interface address of an RTM_NEWADDR/RTM_DELADDR message (IFA_LOCAL, which differs on point-to-point)."""
    local = message.get("IFA_LOCAL") or message.get("IFA_ADDRESS")
    return IPv4Interface(f"{local}/{message['prefixlen']}")


class InterfaceTable:
    """Links by index and by name; `on_change(link)` is called after each change applied from an event
    (after a deletion, `by_index(link.index)` is None)."""

    def __init__(self, on_change: Callable[[Link], None] | None = None) -> None:
        self.on_change = on_change
        self._by_index: dict[int, Link] = {}
        self._by_name: dict[str, Link] = {}
        self._events: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._marshal = MarshalRtnl()

    def load(self) -> None:
        """Replace the table with a fresh dump of links and IPv4 addresses."""
        links = [link_from_message(message) for message in dump_links()]
        addresses = dump_ipv4_addresses()
        self._by_index = {link.index: link for link in links}
        self._by_name = {link.name: link for link in links}
        for message in addresses:
            link = self._by_index.get(message["index"])
            if link is not None:
                link.addresses.append(address_from_message(message))

    def by_index(self, index: int) -> Link | None:
        return self._by_index.get(index)

    def by_name(self, name: str) -> Link | None:
        return self._by_name.get(name)

    def links(self) -> list[Link]:
        return list(self._by_index.values())

    def served_link(self, ifindex: int) -> Link | None:
        """The link a frame received on `ifindex` is served as: a bridge port's bridge, a bond slave's bond."""
        link = self._by_index.get(ifindex)
        while link is not None and link.master is not None:
            master = self._by_index.get(link.master)
            if master is None or master.kind not in AGGREGATING_MASTER_KINDS:
                break
            link = master
        return link

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Subscribe to link and address events, dump the table, and let `loop` apply events as they come.

        Subscribing before dumping means nothing is missed in between; events already reflected by the
        dump are applied again harmlessly.
        """
        events = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        try:
            events.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, NETLINK_RECEIVE_BUFFER_BYTES)
            events.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR))
            events.setblocking(False)
            self.load()
            loop.add_reader(events.fileno(), self._read_events)
        except BaseException:
            events.close()
            raise
        self._events, self._loop = events, loop

    def detach(self) -> None:
        """Stop following events and close the netlink socket."""
        if self._events is not None:
            self._loop.remove_reader(self._events.fileno())
            self._events.close()
            self._events = self._loop = None

    def _read_events(self) -> None:
        while True:
            try:
                data = self._events.recv(NETLINK_READ_BYTES)
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno != errno.ENOBUFS:
                    raise
                log.warning("netlink events were lost (ENOBUFS); reloading the interface table")
                self._reload_and_announce()
                continue
            for message in self._marshal.parse(data):
                self._apply(message)

    def _reload_and_announce(self) -> None:
        self.load()
        if self.on_change is not None:
            for link in self.links():
                self.on_change(link)

    def _apply(self, message) -> None:
        kind = message["header"]["type"]
        if kind in (RTM_NEWLINK, RTM_DELLINK):
            # Bridge port state arrives as AF_BRIDGE link messages; a DELLINK of that family is a port leaving.
            if message["family"] != socket.AF_UNSPEC:
                return
            changed = self._put_link(link_from_message(message)) if kind == RTM_NEWLINK else \
                self._remove_link(message["index"])
        elif kind in (RTM_NEWADDR, RTM_DELADDR):
            changed = self._change_address(message, add=kind == RTM_NEWADDR)
        else:
            return
        if changed is not None and self.on_change is not None:
            self.on_change(changed)

    def _put_link(self, link: Link) -> Link:
        previous = self._by_index.get(link.index)
        if previous is not None:
            link.addresses = previous.addresses
            if self._by_name.get(previous.name) is previous:
                del self._by_name[previous.name]
        self._by_index[link.index] = link
        self._by_name[link.name] = link
        return link

    def _remove_link(self, index: int) -> Link | None:
        link = self._by_index.pop(index, None)
        if link is not None and self._by_name.get(link.name) is link:
            del self._by_name[link.name]
        return link

    def _change_address(self, message, add: bool) -> Link | None:
        link = self._by_index.get(message["index"])
        if link is None:
            return None
        address = address_from_message(message)
        if add and address not in link.addresses:
            link.addresses.append(address)
        elif not add and address in link.addresses:
            link.addresses.remove(address)
        return link
