"""The interface table: every link of the namespace with its kind, MAC, master, lower link, VLAN id and IPv4
addresses, loaded from netlink and kept current from netlink events (decoded by dhcpd.net.netlink).

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
from dataclasses import dataclass
from ipaddress import IPv4Interface
from typing import Callable

from dhcpd.net.netlink import (RTM_NEWADDR, RTM_NEWLINK, AddressMessage, LinkMessage, decode_messages,
                               dump_ipv4_addresses, dump_links)
from dhcpd.net.readers import keep_reading

log = logging.getLogger(__name__)

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
IFF_UP = 0x1
IFF_LOOPBACK = 0x8
NETLINK_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024
NETLINK_READ_BYTES = 1 << 16
# A frame received on a port of these is served as the master: the kernel delivers it on the master.
AGGREGATING_MASTER_KINDS = frozenset({"bridge", "bond", "team"})


@dataclass(slots=True)
class Link:
    index: int
    name: str
    kind: str                          # "veth", "bridge", "bond", "vlan", "macvlan", "loopback", "device"...
    mac: bytes
    up: bool
    master: int | None
    lower: int | None                  # IFLA_LINK in this namespace: a VLAN's or macvlan's parent (None for veth)
    vlan_id: int | None
    # a tuple, replaced on each change: what a served link hands to every request it receives, without a copy
    addresses: tuple[IPv4Interface, ...] = ()


def link_from_message(message: LinkMessage) -> Link:
    """A Link (without addresses) from an RTM_NEWLINK message."""
    flags = message.flags
    kind = message.kind
    if kind is None:
        kind = "loopback" if flags & IFF_LOOPBACK else "device"
    lower: int | None = message.link
    # A veth's IFLA_LINK is its peer, not a device it is stacked on; with IFLA_LINK_NETNSID present the
    # index belongs to another namespace.
    if lower == message.index or not lower or kind == "veth" or message.link_netnsid is not None:
        lower = None
    return Link(
        index=message.index,
        name=message.name,
        kind=kind,
        mac=message.mac,
        up=bool(flags & IFF_UP),
        master=message.master or None,
        lower=lower,
        vlan_id=message.vlan_id if kind == "vlan" else None,
    )


class InterfaceTable:
    """Links by index and by name; `on_change(link)` is called after each change applied from an event
    (after a deletion, `by_index(link.index)` is None)."""

    def __init__(self, on_change: Callable[[Link], None] | None = None) -> None:
        self.on_change = on_change
        self._by_index: dict[int, Link] = {}
        self._by_name: dict[str, Link] = {}
        self._events: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._vlan_devices: dict[tuple[int, int], Link] = {}

    def load(self) -> None:
        """Replace the table with a fresh dump of links and IPv4 addresses."""
        links = [link_from_message(message) for message in dump_links()]
        addresses = dump_ipv4_addresses()
        self._by_index = {link.index: link for link in links}
        self._by_name = {link.name: link for link in links}
        self._vlan_devices = {(link.lower, link.vlan_id): link for link in links
                              if link.vlan_id is not None and link.lower is not None}
        for message in addresses:
            link = self._by_index.get(message.index)
            if link is not None and message.interface is not None:
                link.addresses += (message.interface,)

    def by_index(self, index: int) -> Link | None:
        return self._by_index.get(index)

    def by_name(self, name: str) -> Link | None:
        return self._by_name.get(name)

    def links(self) -> list[Link]:
        return list(self._by_index.values())

    def vlan_device(self, lower: int, vlan_id: int) -> Link | None:
        """The kernel VLAN device with this id on the link with index `lower`, if there is one."""
        return self._vlan_devices.get((lower, vlan_id))

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
                keep_reading(self._loop, self._events.fileno(), self._read_events)
                self._reload_and_announce()
                continue
            for kind, message in decode_messages(data):
                self._apply(kind, message)

    def _reload_and_announce(self) -> None:
        self.load()
        if self.on_change is not None:
            for link in self.links():
                self.on_change(link)

    def _apply(self, kind: int, message: LinkMessage | AddressMessage | None) -> None:
        if isinstance(message, LinkMessage):
            # Bridge port state arrives as AF_BRIDGE link messages; a DELLINK of that family is a port leaving.
            if message.family != socket.AF_UNSPEC:
                return
            changed = self._put_link(link_from_message(message)) if kind == RTM_NEWLINK else \
                self._remove_link(message.index)
        elif isinstance(message, AddressMessage) and message.interface is not None:
            changed = self._change_address(message.index, message.interface, add=kind == RTM_NEWADDR)
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
            self._forget_vlan_device(previous)
        self._by_index[link.index] = link
        self._by_name[link.name] = link
        if link.vlan_id is not None and link.lower is not None:
            self._vlan_devices[(link.lower, link.vlan_id)] = link
        return link

    def _remove_link(self, index: int) -> Link | None:
        link = self._by_index.pop(index, None)
        if link is not None:
            if self._by_name.get(link.name) is link:
                del self._by_name[link.name]
            self._forget_vlan_device(link)
        return link

    def _forget_vlan_device(self, link: Link) -> None:
        if link.vlan_id is not None and link.lower is not None \
                and self._vlan_devices.get((link.lower, link.vlan_id)) is link:
            del self._vlan_devices[(link.lower, link.vlan_id)]

    def _change_address(self, index: int, address: IPv4Interface, add: bool) -> Link | None:
        link = self._by_index.get(index)
        if link is None:
            return None
        if add and address not in link.addresses:
            link.addresses += (address,)
        elif not add and address in link.addresses:
            link.addresses = tuple(known for known in link.addresses if known != address)
        return link
