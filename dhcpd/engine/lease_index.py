"""The in-memory lease index: every lease by address and by client, and free addresses per pool.

The database is the durable copy; this index is what the engine decides from, so the packet path never
waits on SQL. Allocation never scans a pool: each pool hands out never-used addresses from a cursor, then
addresses that became free again (released, expired, deleted), oldest first. Expiry is lazy: a heap of
end times is drained when a pool runs dry and by the server's periodic reclaim. An entry is one int, the
end time rounded up to the second then the address (a tuple would cost twice the memory): a lease is
reclaimed from the first whole second at or after its end.

Addresses are keyed by their integer value inside the index: `IPv4Address.__hash__` is Python code, and at
start-up with a million leases it was a quarter of the time. Several servers sharing one database start
their pool cursors at different offsets (`cursor_offset`), so that they do not race for the same addresses.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from heapq import heapify, heappop, heappush
from ipaddress import IPv4Address
from itertools import compress, repeat, tee
from math import ceil, floor
from math import inf as INFINITY
from operator import attrgetter, is_not, le, lt

from dhcpd.config.model import Pool
from dhcpd.gc_pause import making_long_lived
from dhcpd.leases.record import ETHERNET_MAC, Lease, LeaseState
from dhcpd.wire.addresses import address_value, shared_address

# States whose address may be given to a new client.
REUSABLE = frozenset({LeaseState.FREE, LeaseState.BACKUP, LeaseState.RELEASED, LeaseState.EXPIRED})
RECLAIM_STEP = 500   # expiry entries handled at a time on the packet path
# States that end by themselves when their `expires` passes.
TIMED = frozenset({LeaseState.OFFERED, LeaseState.ACTIVE, LeaseState.DECLINED, LeaseState.ABANDONED})
# Expiry entries count seconds from here (2027-01-15): from 2018 to 2035 an entry fits a two-digit int (32
# bytes); further away it takes 48, and sorts the same.
EXPIRY_EPOCH = 1_800_000_000
ADDRESS_BITS = 32
ADDRESS_MASK = (1 << ADDRESS_BITS) - 1


class PoolState:
    """Allocation state of one pool: a cursor over never-used addresses and a queue of freed ones."""

    def __init__(self, pool: Pool, cursor_offset: float = 0.0) -> None:
        """`cursor_offset` (0 to 1): where in the pool the never-used addresses start being handed out; the
        addresses before it come last, so the pool is still walked exactly once."""
        self.pool = pool
        ranges = [(int(r.first), int(r.last)) for r in pool.ranges]
        self._ranges = _rotated(ranges, int(sum(last - first + 1 for first, last in ranges) * cursor_offset))
        self._range_index = 0
        self._next = self._ranges[0][0] if self._ranges else 0
        self.freed: dict[int, None] = {}  # insertion-ordered set: oldest freed first

    @property
    def size(self) -> int:
        return sum(last - first + 1 for first, last in self._ranges)

    def take(self, available: Callable[[int], bool]) -> int | None:
        while self._range_index < len(self._ranges):
            first, last = self._ranges[self._range_index]
            while self._next <= last:
                candidate = self._next
                self._next += 1
                if available(candidate):
                    return candidate
            self._range_index += 1
            if self._range_index < len(self._ranges):
                self._next = self._ranges[self._range_index][0]
        while self.freed:
            candidate = next(iter(self.freed))
            del self.freed[candidate]
            if available(candidate):
                return candidate
        return None


def _rotated(ranges: list[tuple[int, int]], skip: int) -> list[tuple[int, int]]:
    """The same addresses as `ranges`, starting `skip` addresses in and wrapping around."""
    for position, (first, last) in enumerate(ranges):
        size = last - first + 1
        if skip < size:
            head = [(first + skip, last)]
            tail = [(first, first + skip - 1)] if skip else []
            return head + ranges[position + 1:] + ranges[:position] + tail
        skip -= size
    return ranges


class LeaseIndex:
    """Leases by address, by client identifier and by MAC, plus per-pool allocation state."""

    def __init__(self, pools: Iterable[Pool], leases: Iterable[Lease] = (), cursor_offset: float = 0.0) -> None:
        self._by_ip: dict[int, Lease] = {}
        # client id / MAC -> its address, or a set of them for the rare client with several (a set per
        # client would cost about 200 bytes per lease). A lease whose client id is 01 + its MAC is found
        # through its MAC only (`_keyed_by_client_id`).
        self._by_client_id: dict[bytes, int | set[int]] = {}
        self._by_mac: dict[bytes, int | set[int]] = {}
        self._expiries: list[int] = []   # ((end second - EXPIRY_EPOCH) << ADDRESS_BITS) + address
        self.pools = [PoolState(pool, cursor_offset) for pool in pools]
        self._pool_of_pool = {id(state.pool): state for state in self.pools}
        spans = sorted(
            ((int(r.first), int(r.last), state) for state in self.pools for r in state.pool.ranges),
            key=lambda span: span[0],
        )
        self._span_starts = [first for first, _, _ in spans]
        self._spans = spans
        with making_long_lived():   # a million leases at start-up, and no reference cycles among them
            self._put_all(leases if isinstance(leases, list) else list(leases))   # read only: no copy

    def __len__(self) -> int:
        return len(self._by_ip)

    def __iter__(self) -> Iterator[Lease]:
        return iter(self._by_ip.values())

    def get(self, ip: IPv4Address) -> Lease | None:
        return self._by_ip.get(address_value(ip))

    def pool_state(self, pool: Pool) -> PoolState:
        return self._pool_of_pool[id(pool)]

    def pool_of(self, ip: IPv4Address | int) -> PoolState | None:
        value = int(ip)
        position = bisect_right(self._span_starts, value) - 1
        if position >= 0:
            _, last, state = self._spans[position]
            if value <= last:
                return state
        return None

    def put(self, lease: Lease) -> None:
        """Insert or replace the lease for its address, keeping every index consistent."""
        value = lease.address
        old = self._by_ip.get(value)
        self._by_ip[value] = lease
        # most replacements (an offer taken, a renewal, an expiry) keep the client: its entries stay as they are
        if old is None or old.stored_client_id != lease.stored_client_id or old.mac != lease.mac:
            if old is not None:
                self._unlink_client(old, value)
            if _keyed_by_client_id(lease):
                _link(self._by_client_id, lease.client_id, value)
            if lease.mac is not None:
                _link(self._by_mac, lease.mac, value)
        else:
            # Equal values, and the objects the client tables hold as keys: an ACK or a renewal decoded its own
            # copies from the request, which the tables' keys would have kept alive beside them.
            lease.mac, lease.stored_client_id = old.mac, old.stored_client_id
        if old is not None:
            lease.address = old.address   # likewise: the address table's key is the first lease's int
        if lease.state in TIMED:
            if lease.expires < INFINITY:   # a lease that never ends needs no entry
                heappush(self._expiries, ((ceil(lease.expires) - EXPIRY_EPOCH) << ADDRESS_BITS) + value)
        elif lease.state in REUSABLE:
            self._mark_freed(value)

    def _put_all(self, leases: list[Lease]) -> None:
        """The index after `put` of each lease in order of end time (of two equal ones, the first in `leases`).

        Leases in address order, as loaded from the database, also lie in memory in that order. Unless that is
        their end time order too, they are indexed table by table, each walking them in that order, rather than
        lease by lease in end time order, which jumps around memory (at a million leases, a walk costs five
        times as much; in memory order, the puts cost less than the tables). Only the address table's order and
        the freed addresses' order are end time order, obtained by sorting.
        """
        # in this order, a reload's leases (end time order, not address order) are not walked through twice
        if (not _ascending(map(_lease_value, leases), strictly=True)
                or _ascending(map(attrgetter("expires"), leases))):
            for lease in sorted(leases, key=attrgetter("expires")):
                self.put(lease)
            return
        self._put_all_addresses(leases)
        # Made once the work lists of the tables above are gone: made among them, what stays would keep their
        # memory from the system when they go.
        self._expiries = [((ceil(lease.expires) - EXPIRY_EPOCH) << ADDRESS_BITS) + lease.address
                          for lease in leases if lease.state in TIMED and lease.expires < INFINITY]
        heapify(self._expiries)
        self._free_all(leases)

    def _put_all_addresses(self, leases: list[Lease]) -> None:
        """The address and client tables of `_put_all`."""
        values = list(map(_lease_value, leases))
        self._by_ip = dict.fromkeys(_sorted_by(values, map(attrgetter("expires"), leases)))
        self._by_ip.update(zip(values, leases))
        _link_all(self._by_client_id, list(map(_client_id_key, leases)), values, leases)
        _link_all(self._by_mac, list(map(attrgetter("mac"), leases)), values, leases)

    def _free_all(self, leases: list[Lease]) -> None:
        """The freed addresses of `_put_all`: each span's leases are found by bisection among those after the
        previous span's and no further than its size, so that it looks at nearby leases only."""
        in_pool: dict[int, list[Lease]] = {}   # id of a pool state -> its reusable leases, in the order of `leases`
        start, previous_last, count = 0, -1, len(leases)
        for first, last, state in self._owned_spans():
            start = bisect_left(leases, first, start, min(count, start + first - previous_last), key=_lease_value)
            stop = bisect_right(leases, last, start, min(count, start + last - first + 1), key=_lease_value)
            reusable = [lease for lease in leases[start:stop] if lease.state in REUSABLE]
            if reusable:
                in_pool.setdefault(id(state), []).extend(reusable)
            start, previous_last = stop, last
        for state in self.pools:
            chosen = sorted(in_pool.pop(id(state), ()), key=attrgetter("expires"))
            state.freed.update(zip(map(_lease_value, chosen), repeat(None)))

    def _owned_spans(self) -> Iterator[tuple[int, int, PoolState]]:
        """Each span, with the addresses `pool_of` finds in it: none from the next span's start on."""
        for (first, last, state), following in zip(self._spans, [*self._span_starts[1:], INFINITY]):
            yield first, min(last, following - 1), state

    def remove(self, ip: IPv4Address) -> Lease | None:
        """Forget an address entirely (API delete); it becomes allocatable again."""
        value = int(ip)
        lease = self._by_ip.pop(value, None)
        if lease is not None:
            self._unlink_client(lease, value)
            self._mark_freed(value)
        return lease

    def client_leases(self, client_id: bytes | None, mac: bytes | None) -> list[Lease]:
        """Leases of a client: by client identifier when it sent one, else by MAC on leases without one."""
        by_ip = self._by_ip
        if client_id is not None:
            found = [by_ip[value] for value in _linked(self._by_client_id, client_id)]
            if client_id.startswith(b"\x01"):
                found += [lease for value in _linked(self._by_mac, client_id[1:])
                          if (lease := by_ip[value]).stored_client_id is ETHERNET_MAC]
            if found:
                return found
        if mac is None or mac not in self._by_mac:   # a new client: no list to build
            return []
        return [
            by_ip[value]
            for value in _linked(self._by_mac, mac)
            if client_id is None or by_ip[value].client_id is None
        ]

    def allocate(self, pool: Pool, available: Callable[[int], bool], now: float) -> IPv4Address | None:
        """A free address of the pool, or None when it is exhausted even after reclaiming expired leases."""
        state = self.pool_state(pool)
        found = state.take(available)
        # Expire in steps, stopping as soon as this pool has an address again: a mass expiry elsewhere must
        # not be paid for by one request.
        while found is None and self._expiries and self._expiries[0] < _due_entries(now):
            self.reclaim(now, limit=RECLAIM_STEP)
            found = state.take(available)
        return shared_address(found) if found is not None else None   # the REQUEST for it finds the same object

    def is_free(self, ip: IPv4Address | int, now: float) -> bool:
        lease = self._by_ip.get(int(ip))
        return lease is None or lease.state in REUSABLE or (lease.state in TIMED and lease.expires <= now)

    def reclaim(self, now: float, limit: int | None = None) -> list[Lease]:
        """Expire the leases whose time has passed, at most `limit` expiry entries (None: all); returns the
        changed leases (to persist). A bounded call keeps a mass expiry from stalling the packet path."""
        changed: list[Lease] = []
        due = _due_entries(now)
        while self._expiries and self._expiries[0] < due and (limit is None or limit > 0):
            if limit is not None:
                limit -= 1
            value = heappop(self._expiries) & ADDRESS_MASK
            lease = self._by_ip.get(value)
            # the entry of a lease replaced since by one not yet due, which has its own entry
            if lease is None or lease.state not in TIMED or lease.expires > now:
                continue
            # an expired offer stays remembered for its client, like an expired lease
            expired = lease.copy(state=LeaseState.EXPIRED)
            self.put(expired)
            if lease.state is not LeaseState.OFFERED:  # offers were never written to the database
                changed.append(expired)
        return changed

    def next_expiry(self) -> float | None:
        """The earliest end time still waiting to be reclaimed, rounded up to the second (it may belong to a
        lease replaced since)."""
        return (self._expiries[0] >> ADDRESS_BITS) + EXPIRY_EPOCH if self._expiries else None

    def _mark_freed(self, value: int) -> None:
        state = self.pool_of(value)
        if state is not None:
            state.freed[value] = None

    def _unlink_client(self, lease: Lease, value: int) -> None:
        if _keyed_by_client_id(lease):
            _unlink(self._by_client_id, lease.client_id, value)
        if lease.mac is not None:
            _unlink(self._by_mac, lease.mac, value)


def _keyed_by_client_id(lease: Lease) -> bool:
    """Whether the lease is in the client id table: it has a client id, other than the hardware type 1
    (Ethernet) byte and its MAC, which most clients send. Those are found through the MAC table, which holds
    them anyway (100,000 leases: 5 MiB less)."""
    stored = lease.stored_client_id
    return stored is not None and stored is not ETHERNET_MAC


def _client_id_key(lease: Lease) -> bytes | None:
    """The lease's key in the client id table, or None when it is not in it."""
    stored = lease.stored_client_id
    return None if stored is ETHERNET_MAC else stored


def _due_entries(now: float) -> int:
    """Expiry entries below this one are due at `now`."""
    return (floor(now) + 1 - EXPIRY_EPOCH) << ADDRESS_BITS


def _link(table: dict[bytes, int | set[int]], key: bytes, value: int) -> None:
    present = table.get(key)
    if present is None:
        table[key] = value
    elif isinstance(present, set):
        present.add(value)
    elif present != value:
        table[key] = {present, value}


def _link_all(table: dict[bytes, int | set[int]], keys: list[bytes | None], values: list[int],
              leases: list[Lease]) -> None:
    """`_link` of each key but None to its value, the value of the lease at its position, in order of end time
    (stable), into a table that holds none of the values. Only a key with several values depends on that
    order: they are linked in list order first, and a key that turns out to have several is linked again in
    end time order."""
    repeated = set(compress(keys, map(is_not, map(table.setdefault, keys, values), values)))
    table.pop(None, None)
    repeated.discard(None)
    if not repeated:
        return
    positions = [position for position, key in enumerate(keys) if key in repeated]
    for key in repeated:
        del table[key]
    for position in sorted(positions, key=lambda position: leases[position].expires):
        _link(table, keys[position], values[position])


def _ascending(items: Iterable, strictly: bool = False) -> bool:
    first, second = tee(items)
    next(second, None)
    return all(map(lt if strictly else le, first, second))


_lease_value = attrgetter("address")


def _sorted_by(items: list, keys: Iterable) -> list:
    """`items` in the order of `keys`, the first key the first item's and so on (equal keys keep their items'
    order). sorted() asks for the key of each item once, in list order, and here takes the next of `keys`."""
    return sorted(items, key=partial(next, iter(keys)))


def _unlink(table: dict[bytes, int | set[int]], key: bytes, value: int) -> None:
    present = table.get(key)
    if present == value:
        del table[key]
    elif isinstance(present, set):
        present.discard(value)
        if len(present) == 1:
            table[key] = present.pop()


def _linked(table: dict[bytes, int | set[int]], key: bytes) -> tuple[int, ...] | set[int]:
    present = table.get(key)
    if present is None:
        return ()
    return present if isinstance(present, set) else (present,)
