"""Administrative changes to the running server's leases and reservations (what the REST API calls).

The engine's in-memory lease index and the database must agree, and an API change must never hand an
address to a second client while DHCP traffic runs. Everything here runs in the event loop thread, like
the packet path, so a check and the index update that follows it cannot interleave with a packet; the
only awaits are the database calls, made in a worker thread. Hence:
- adding or replacing a lease claims the address in the index first (as the engine does for an ACK),
  then writes it; if the write fails the claim is undone;
- deleting writes first and then forgets the address, unless DHCP changed it meanwhile, in which case
  the newer lease is written again so that index and database still agree;
- a reservation is checked against dhcpd.conf hosts, other reservations and current leases, written, and
  put into the engine in the same loop step as the final lease check.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Network

from sqlalchemy import func, select

from dhcpd.config.errors import ConfigError
from dhcpd.config.model import Host, Scope, Subnet
from dhcpd.config.parser import parse_text
from dhcpd.engine.hosts import CircuitHost
from dhcpd.engine.lease_index import REUSABLE
from dhcpd.leases.models import LEASES
from dhcpd.leases.record import Lease, LeaseState
from dhcpd.leases.reservations import ReservationConflict, ReservationRecord
from dhcpd.leases.store import LeaseFilter, LeaseStore
from dhcpd.wire.options import DHCP_OPTIONS

OPTION_HOST_NAME = 12
TEXT_FORMATS = frozenset("tdD")
OPTION_FORMATS = {definition.name: definition.format for definition in DHCP_OPTIONS}
OPTION_NAME = re.compile(r"[A-Za-z0-9-]+")
STATEMENT_BREAKS = re.compile(r"[;{}#\n]")
# ScopeStack skips a host scope whose parent is None (that is the global scope); reservation hosts hang
# below this empty scope so their own options apply.
RESERVATION_PARENT = Scope()


class AdminError(Exception):
    """A refused change; the message says why."""


class NotFound(AdminError):
    pass


class Conflict(AdminError):
    """The change would give an address or an identifier to two owners."""


class Invalid(AdminError):
    """The change is well-formed but does not fit the configuration (e.g. an address outside every subnet)."""


@dataclass(frozen=True, slots=True)
class SubnetUsage:
    subnet: Subnet
    size: int          # addresses in the subnet's pools
    used: int          # active, unexpired leases
    declined: int      # declined or abandoned, still on probation

    @property
    def free(self) -> int:
        return max(self.size - self.used - self.declined, 0)

    @property
    def utilisation(self) -> float:
        return self.used / self.size if self.size else 0.0


def encode_reservation_options(options: dict[str, str]) -> dict[int, bytes]:
    """Option values written as in dhcpd.conf (`{"routers": "10.0.0.1"}`), encoded by the dhcpd.conf reader.

    Text options may be given without their quotes. Raises Invalid with the reader's reason.
    """
    encoded: dict[int, bytes] = {}
    for name, value in options.items():
        if not OPTION_NAME.fullmatch(name) or STATEMENT_BREAKS.search(value):
            raise Invalid(f"option {name!r}: a name is letters, digits and dashes; a value holds no ; {{ }} # or newline")
        try:
            config = parse_text(f"option {name} {_as_written(name, value)};", "<reservation option>")
        except ConfigError as error:
            raise Invalid(f"option {name}: {'; '.join(p.message for p in error.problems)}") from None
        if len(config.root.options) != 1:
            why = config.notes[0].split(": ", 1)[-1] if config.notes else "not a DHCP option that takes a value"
            raise Invalid(f"option {name}: {why}")
        encoded.update(config.root.options)
    return encoded


def _as_written(name: str, value: str) -> str:
    text = value.strip()
    option_format = OPTION_FORMATS.get(name.lower(), "")
    if option_format[:1] not in TEXT_FORMATS or text.startswith('"'):
        return text
    parts = [part.strip() for part in text.split(",")] if option_format.startswith("D") else [text]
    return ", ".join('"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"' for part in parts)


def reservation_host(record: ReservationRecord) -> CircuitHost:
    """The engine's view of a stored reservation: a host declaration with one fixed address."""
    options = encode_reservation_options(record.options or {})
    if record.hostname and OPTION_HOST_NAME not in options:
        options[OPTION_HOST_NAME] = record.hostname.encode()
    return CircuitHost(
        parent=RESERVATION_PARENT, options=options, name=record.hostname or f"reservation-{record.id}",
        hardware=record.mac, client_id=record.client_id, fixed_addresses=[record.ip],
        circuit_id=record.circuit_id, file="<database>",
    )


def reservation_hosts(records: Iterable[ReservationRecord]) -> list[Host]:
    return [reservation_host(record) for record in records]


def same_client(lease: Lease, mac: bytes | None, client_id: bytes | None, circuit_id: bytes | None = None) -> bool:
    if client_id is not None and lease.client_id is not None:
        return lease.client_id == client_id
    if mac is not None and lease.mac == mac:
        return True
    return circuit_id is not None and lease.circuit_id == circuit_id


class Admin:
    """Lease and reservation changes on a `Server` (anything with .engine and .store)."""

    def __init__(self, server) -> None:
        self.server = server
        self._reservations = {record.id: record for record in self.store.reservations.all()}

    @property
    def store(self) -> LeaseStore:
        return self.server.store

    @property
    def engine(self):
        return self.server.engine

    # -- leases ----------------------------------------------------------------------------------------

    async def lease(self, ip: IPv4Address) -> Lease:
        found = await asyncio.to_thread(self.store.get, ip)
        if found is None:
            raise NotFound(f"no lease for {ip}")
        return found

    async def leases(self, after: IPv4Address | None, limit: int, filters: LeaseFilter) -> list[Lease]:
        return await asyncio.to_thread(self.store.page, after, limit, filters)

    async def add_lease(self, lease: Lease) -> Lease:
        """A new lease; refused while the address is in use by anyone."""
        lease = self._placed(lease)
        if not self.engine.leases.is_free(lease.ip, time.time()):
            current = self.engine.leases.get(lease.ip)
            raise Conflict(f"{lease.ip} is {current.state.value} until {_iso(current.expires)}; use PUT to replace it")
        return await self._write(lease)

    async def replace_lease(self, lease: Lease) -> Lease:
        """Replace the lease of an address that has one."""
        lease = self._placed(lease)
        if self.engine.leases.get(lease.ip) is None and await asyncio.to_thread(self.store.get, lease.ip) is None:
            raise NotFound(f"no lease for {lease.ip}")
        return await self._write(lease)

    async def delete_lease(self, ip: IPv4Address) -> None:
        """Forget the lease: the address is free for the next DISCOVER as soon as this returns."""
        if self.engine.leases.get(ip) is None and await asyncio.to_thread(self.store.get, ip) is None:
            raise NotFound(f"no lease for {ip}")
        seen = {ip: self.engine.leases.get(ip)}
        await asyncio.to_thread(self.store.delete, [ip])
        await self._forget(seen)

    async def wipe_subnet(self, network: IPv4Network) -> int:
        """Delete every lease of a declared subnet; returns how many rows the database held."""
        if not any(subnet.network == network for subnet in self.engine.config.subnets):
            raise NotFound(f"no subnet {network} is declared")
        seen = {lease.ip: lease for lease in self._index_leases_in(network)}
        deleted = await asyncio.to_thread(self.store.delete_subnet, network)
        await self._forget(seen, network)
        return deleted

    def _placed(self, lease: Lease) -> Lease:
        subnet = self.engine.subnets.subnet_for(lease.ip)
        if subnet is None:
            raise Invalid(f"{lease.ip} is outside every declared subnet")
        network = subnet.network
        if network.prefixlen < 31 and lease.ip in (network.network_address, network.broadcast_address):
            raise Invalid(f"{lease.ip} is the network or broadcast address of {network}")
        owner = self.engine.hosts.reserved.get(lease.ip)
        if owner is not None and owner.hardware != lease.mac and (owner.client_id is None or owner.client_id != lease.client_id):
            raise Conflict(f"{lease.ip} is reserved for host {owner.name}")
        return lease.copy(link=replace(lease.link, subnet=subnet.id))

    async def _write(self, lease: Lease) -> Lease:
        index = self.engine.leases
        previous = index.get(lease.ip)
        index.put(lease)  # claimed now: the packet path will not offer it to anyone else
        try:
            await asyncio.to_thread(self.store.save, [lease])
        except Exception:
            if index.get(lease.ip) is lease:
                if previous is None:
                    index.remove(lease.ip)
                else:
                    index.put(previous)
            raise
        return lease

    async def _forget(self, seen: dict[IPv4Address, Lease | None], network: IPv4Network | None = None) -> None:
        """After a database delete: drop what DHCP left untouched, write back what it changed meanwhile."""
        index = self.engine.leases
        current = list(self._index_leases_in(network)) if network is not None else \
            [lease for ip in seen if (lease := index.get(ip)) is not None]
        changed = []
        for lease in current:
            if seen.get(lease.ip) is lease:
                index.remove(lease.ip)
            elif lease.state is not LeaseState.OFFERED:
                changed.append(lease)
        if changed:
            await asyncio.to_thread(self.store.save, changed)

    def _index_leases_in(self, network: IPv4Network) -> list[Lease]:
        index = self.engine.leases
        if network.num_addresses < len(index):
            first = int(network.network_address)
            return [lease for value in range(first, first + network.num_addresses)
                    if (lease := index.get(IPv4Address(value))) is not None]
        return [lease for lease in index if lease.ip in network]

    # -- reservations ----------------------------------------------------------------------------------

    def reservations(self, after_id: int | None, limit: int) -> list[ReservationRecord]:
        ordered = sorted(id_ for id_ in self._reservations if after_id is None or id_ > after_id)
        return [self._reservations[id_] for id_ in ordered[:limit]]

    def reservation(self, reservation_id: int) -> ReservationRecord:
        record = self._reservations.get(reservation_id)
        if record is None:
            raise NotFound(f"no reservation {reservation_id}")
        return record

    async def add_reservation(self, record: ReservationRecord) -> ReservationRecord:
        record = self._checked(record)
        try:
            stored = await asyncio.to_thread(self.store.reservations.add, record)
        except ReservationConflict as error:
            raise Conflict(f"another reservation has this address or identifier ({error})") from None
        try:
            self._check_leases(stored)
        except Conflict:
            await asyncio.to_thread(self.store.reservations.delete, stored.id)
            raise
        self._reservations[stored.id] = stored
        self._apply_reservations()
        return stored

    async def update_reservation(self, record: ReservationRecord) -> ReservationRecord:
        old = self.reservation(record.id)
        record = replace(self._checked(record), created_at=old.created_at)
        try:
            updated = await asyncio.to_thread(self.store.reservations.update, record)
        except ReservationConflict as error:
            raise Conflict(f"another reservation has this address or identifier ({error})") from None
        if not updated:
            raise NotFound(f"no reservation {record.id}")
        try:
            self._check_leases(record)
        except Conflict:
            await asyncio.to_thread(self.store.reservations.update, old)
            raise
        self._reservations[record.id] = record
        self._apply_reservations()
        return record

    async def delete_reservation(self, reservation_id: int) -> None:
        self.reservation(reservation_id)
        await asyncio.to_thread(self.store.reservations.delete, reservation_id)
        self._reservations.pop(reservation_id, None)
        self._apply_reservations()

    def _checked(self, record: ReservationRecord) -> ReservationRecord:
        """The record with its subnet filled in, or the reason it cannot be stored."""
        subnet = self.engine.subnets.subnet_for(record.ip)
        if subnet is None:
            raise Invalid(f"{record.ip} is outside every declared subnet")
        reservation_host(record)  # the options must encode
        for host in self.engine.config.hosts:
            if record.ip in host.fixed_addresses:
                raise Conflict(f"{record.ip} is the fixed address of dhcpd.conf host {host.name}")
            if record.mac is not None and host.hardware == record.mac:
                raise Conflict(f"dhcpd.conf host {host.name} already has this MAC")
            if record.client_id is not None and host.client_id == record.client_id:
                raise Conflict(f"dhcpd.conf host {host.name} already has this client id")
        for other in self._reservations.values():
            if other.id == record.id:
                continue
            clash = next((what for what, mine, theirs in (
                ("address", record.ip, other.ip), ("MAC", record.mac, other.mac),
                ("client id", record.client_id, other.client_id), ("circuit id", record.circuit_id, other.circuit_id),
            ) if mine is not None and mine == theirs), None)
            if clash is not None:
                raise Conflict(f"reservation {other.id} already has this {clash}")
        self._check_leases(record)
        return replace(record, subnet=subnet.id)

    def _check_leases(self, record: ReservationRecord) -> None:
        lease = self.engine.leases.get(record.ip)
        if lease is None or lease.state in REUSABLE or lease.expires <= time.time():
            return
        if not same_client(lease, record.mac, record.client_id, record.circuit_id):
            who = lease.mac.hex(":") if lease.mac else "another client"
            raise Conflict(f"{record.ip} is {lease.state.value} for {who} until {_iso(lease.expires)}")

    def _apply_reservations(self) -> None:
        self.engine.set_reservations(reservation_hosts(self._reservations.values()))

    # -- views -----------------------------------------------------------------------------------------

    async def subnet_usage(self) -> list[SubnetUsage]:
        counts = await asyncio.to_thread(self._count_by_subnet_and_state, time.time())
        usage = []
        for subnet in self.engine.config.subnets:
            by_state = counts.get(subnet.id, {})
            size = sum(len(address_range) for pool in subnet.pools for address_range in pool.ranges)
            declined = by_state.get(LeaseState.DECLINED.value, 0) + by_state.get(LeaseState.ABANDONED.value, 0)
            usage.append(SubnetUsage(subnet, size, by_state.get(LeaseState.ACTIVE.value, 0), declined))
        return usage

    def _count_by_subnet_and_state(self, now: float) -> dict[str, dict[str, int]]:
        statement = (select(LEASES.c.subnet, LEASES.c.state, func.count())
                     .where(LEASES.c.expires > now).group_by(LEASES.c.subnet, LEASES.c.state))
        counts: dict[str, dict[str, int]] = {}
        with self.store.engine.connect() as connection:
            for subnet, state, count in connection.execute(statement):
                counts.setdefault(subnet, {})[state] = count
            self.store.release_page_cache(connection)   # the count read the whole table
        return counts


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
