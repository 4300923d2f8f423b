"""The running server: one asyncio loop wiring net -> engine -> lease store -> net.

Frames come from the one packet socket; each is decoded, resolved to its served link, handed to the
engine, and the engine's decision is carried out: leases are committed (group commit) before an ACK
leaves, then the reply is sent where RFC 2131 4.1 says. SIGHUP re-reads the configuration, keeping the old
one if the new one has errors; SIGTERM and SIGINT stop after committing what is pending.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field

from dhcpd.admin import reservation_hosts
from dhcpd.config.errors import ConfigError
from dhcpd.config.model import Config
from dhcpd.config.parser import load
from dhcpd.config.trunks import trunk_vlans
from dhcpd.decline_guard import DEFAULT_MAX_FRACTION, DEFAULT_PER_MAC, DeclineGuard
from dhcpd.engine.engine import Engine
from dhcpd.engine.probe import ProbeFirst
from dhcpd.engine.reverse_names import ResolveFirst
from dhcpd.engine.types import Decision, Ingress
from dhcpd.leases.follower import ChangeFollower
from dhcpd.leases.group_commit import GroupCommitter
from dhcpd.leases.store import LeaseStore
from dhcpd.links import ServedLinks
from dhcpd.net.guard import open_guard_socket
from dhcpd.net.interfaces import InterfaceTable, Link
from dhcpd.net.ping import Pinger
from dhcpd.net.rawsock import PACKET_OTHERHOST, PACKET_OUTGOING, PacketRing, open_packet_socket
from dhcpd.net.reverse_dns import ReverseResolver
from dhcpd.net.transmit import Transmitter
from dhcpd.net.trunk import TrunkSockets
from dhcpd.notify import notify
from dhcpd.ratelimit import Rate, RequestLimits
from dhcpd.gc_pause import settle_for_serving, settle_while_serving
from dhcpd.packetlog import PacketLog, Writer, stderr_writer
from dhcpd.stats import RECEIVED_NAMES, SENT_NAMES, Stats
from dhcpd.wire.codec import MalformedPacket, MessageTooLarge, decode, encode, reply_size_limit
from dhcpd.wire.frame import BadFrame, decode_frame, udp_payload
from dhcpd.wire.message import MESSAGE_TYPES, DhcpMessage, MessageType

log = logging.getLogger("dhcpd")

DECLINE = MessageType.DECLINE   # read once: in Python 3.11 every MessageType.X read goes through a slow hook

# Frames handled per readable event before the turn's leases are committed and its replies sent: a backlog
# (after the disk or the scheduler held the loop up) is worked off in commits of at most this many, so that its
# first ACKs do not wait for the last frame of it; timers and the API keep running too. At 4,000 DORA/s, five
# interleaved runs each: ACK p99 7.4 ms median at 256, 4.6 ms at 32; 16 was no better, 8 worse.
FRAMES_PER_WAKEUP = 32
RECLAIM_INTERVAL = 5.0         # seconds between sweeps of expired leases
GIL_SWITCH_INTERVAL = 0.0005  # seconds; see run()
RECLAIM_BATCH = 500            # leases expired per step of a sweep, so a mass expiry never stalls the loop
# Seconds a packet's log lines may wait, so that a busy server writes them in batches: one write per loop turn
# was one system call and its buffering for every frame at a few thousand frames a second.
LOG_WRITE_DELAY = 0.02
# Seconds between the starts of two commits made back to back: under load a commit waits for the rest of this
# interval and takes every lease decided meanwhile, so that its fixed cost (transaction, log frame, sync) is shared.
# A commit that follows a quiet moment starts at once.
COMMIT_INTERVAL = 0.001
DEFAULT_RATE_LIMIT_MAC = Rate(50, 1.0)


@dataclass
class Settings:
    config_file: str
    db_url: str
    interfaces: frozenset[str] = frozenset()
    lease_file: str | None = None
    pid_file: str | None = None
    rate_limit_mac: Rate | None = DEFAULT_RATE_LIMIT_MAC
    rate_limit_link: Rate | None = None
    decline_limit_mac: Rate | None = DEFAULT_PER_MAC
    decline_max_fraction: float = DEFAULT_MAX_FRACTION
    log_writer: Writer = field(default_factory=stderr_writer)


@dataclass
class Server:
    settings: Settings
    config: Config
    store: LeaseStore
    engine: Engine = field(init=False)
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        # Servers sharing a database each start allocating at their own place in every pool.
        offset = random.random() if self.store.shared else 0.0
        leases = self.store.load_all()
        self.engine = Engine(self.config, leases, cursor_offset=offset)
        self.engine.set_reservations(reservation_hosts(self.store.reservations.all()))
        self.limits = RequestLimits(self.settings.rate_limit_mac, self.settings.rate_limit_link)
        self.declines = DeclineGuard(self.settings.decline_max_fraction, self.settings.decline_limit_mac)
        # the loaded list, in the order of the leases' memory, not the index's (a million leases: 0.14 s less)
        self.declines.track(self.engine, leases)
        self._stopped = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._to_commit: list[tuple[DhcpMessage, Decision, Ingress]] = []   # decisions waiting for their commit
        self._in_turn = False   # in `_on_readable`, which asks for the turn's commit itself when it ends
        self._last_commit = -COMMIT_INTERVAL      # time.monotonic() when the last commit started
        self._commit_timer: asyncio.TimerHandle | None = None
        self.packet_log = PacketLog(self.settings.log_writer)

    # -- lifecycle --------------------------------------------------------------------------------

    async def run(self, *services: Callable[[Server], Awaitable[None]]) -> None:
        """Serve until SIGTERM/SIGINT or `stop()`; `services` (e.g. the REST API) run beside the packet path
        in the same loop and are cancelled when the server stops."""
        loop = asyncio.get_running_loop()
        self.table = InterfaceTable(on_change=self._link_changed)
        self.table.attach(loop)
        self.served = ServedLinks(self.table, self.engine.subnets, self.settings.interfaces,
                                  trunk_vlans(self.config))
        self._report_links()
        self.packet_socket = open_packet_socket()
        self.packet_ring = PacketRing(self.packet_socket, self.stats.drops)
        self.guard_socket = open_guard_socket()
        self.transmitter = Transmitter(self.packet_socket, self.guard_socket, self.table)
        self.trunks = TrunkSockets(loop, self.handle_trunk_frame)
        self.trunks.sync(self.table, self.served.trunk_names())
        self.committer = GroupCommitter(self.store)
        self.committer.start()
        self.pinger = self._open_pinger(loop)
        self.reverse_dns = ReverseResolver()
        loop.add_reader(self.packet_socket.fileno(), self._on_readable)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_signal, self._stopped.set)
        background = [loop.create_task(self._reclaim_forever()), loop.create_task(settle_while_serving())]
        if self.store.shared:  # other servers may write the same database: follow their changes
            self.follower = ChangeFollower(self.store, lambda: self.engine.leases)
            background.append(loop.create_task(self.follower.run()))
        background += [loop.create_task(service(self)) for service in services]
        settle_for_serving()
        # The commit thread and the loop hand the interpreter lock to each other for every ACK; at the default
        # 5 ms switch interval each handoff could wait that long, which was most of an ACK's p99 latency.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        log.info("Server starting service.")
        notify("READY=1\nSTATUS=serving")
        try:
            await self._stopped.wait()
        finally:
            notify("STOPPING=1")
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            loop.remove_reader(self.packet_socket.fileno())
            await self.drain()
            await self.committer.stop()
            self.packet_log.flush()
            self.table.detach()
            self.trunks.close()
            self.packet_ring.close()
            self.packet_socket.close()
            self.guard_socket.close()
            if self.pinger is not None:
                self.pinger.close()
            self.reverse_dns.close()
            log.info("Server stopped.")

    def stop(self) -> None:
        self._stopped.set()

    async def drain(self) -> None:
        """Commit and send everything decided so far, and wait for every background step (probes, lookups)."""
        self._commit_now()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            self._commit_now()

    def reload(self) -> ConfigError | None:
        """Re-read the configuration; on errors keep serving with the old one and return them."""
        try:
            config = load(self.settings.config_file)
        except ConfigError as error:  # an unreadable file included
            log.error("configuration not reloaded, keeping the old one:\n%s", error)
            return error
        self.engine.reconfigure(config)
        self.config = config
        self.served.invalidate(self.engine.subnets, trunk_vlans(config))
        self.trunks.sync(self.table, self.served.trunk_names())
        log.info("configuration reloaded from %s", self.settings.config_file)
        self._report_links()
        settle_for_serving(collect_first=True)
        return None

    def _link_changed(self, link: Link) -> None:
        self.served.invalidate()
        self.trunks.sync(self.table, self.served.trunk_names())

    def _report_links(self) -> None:
        served = []
        for link in sorted(self.table.links(), key=lambda l: l.index):
            why = self.served.why_not_served(link)
            if why is None:
                served.append(link.name)
            elif link.name in self.settings.interfaces:
                log.warning("interface %s is not served: %s", link.name, why)
        log.info("serving %d link(s)%s", len(served), ": " + " ".join(served[:20]) if served else "")

    # -- packet path ------------------------------------------------------------------------------

    def _on_readable(self) -> None:
        """Handle the frames waiting in the ring, then commit their leases together and send their replies."""
        receive = self.packet_ring.receive
        self._in_turn = True
        try:
            for _ in range(FRAMES_PER_WAKEUP):
                received = receive()
                if received is None:
                    break
                data, ifindex, pkttype = received   # not handle_frame(*received): a call with * is not inlined
                self.handle_frame(data, ifindex, pkttype)
        finally:
            try:
                self._commit_queued()
            finally:
                self._in_turn = False

    def handle_frame(self, data: bytes, ifindex: int, pkttype: int) -> None:
        if pkttype in (PACKET_OTHERHOST, PACKET_OUTGOING):
            self.stats.drop("other-host" if pkttype == PACKET_OTHERHOST else "outgoing")
            return
        served = self.served.resolve(ifindex, pkttype)
        if isinstance(served, str):
            known = self.table.by_index(ifindex)
            self.stats.drop(served, known.name if known is not None else None)
            return
        try:
            message = decode(udp_payload(data))
        except (BadFrame, MalformedPacket) as error:
            self._drop_malformed(error, served.link.name)
            return
        self.handle_message(message, served.ingress)

    def handle_trunk_frame(self, data: bytes, trunk_index: int, trunk: str, vlan: int) -> None:
        """A frame from a trunk socket: `vlan` is the outer tag the kernel took out, an inner one is in `data`."""
        try:
            frame = decode_frame(data)
            message = decode(frame.payload)
        except (BadFrame, MalformedPacket) as error:
            self._drop_malformed(error, trunk)
            return
        inner_vlan = frame.vlans[0] if frame.vlans else None
        served = self.served.resolve_trunk(trunk_index, trunk, vlan, inner_vlan)
        if isinstance(served, str):
            self.stats.drop(served, trunk)
            return
        self.handle_message(message, Ingress(served.label, trunk_index, served.addresses, vlan, inner_vlan))

    def _drop_malformed(self, error: BadFrame | MalformedPacket, link_name: str) -> None:
        self.stats.drop(f"malformed:{error.reason}", link_name)

    def handle_message(self, message: DhcpMessage, ingress: Ingress) -> None:
        kind = MESSAGE_TYPES.get(message.options.get(53))
        self.stats.received[RECEIVED_NAMES[kind]] += 1
        self.stats.links[ingress.ifname].requests += 1
        now, monotonic_now = time.time(), time.monotonic()
        refusal = self.limits.refusal(message, ingress, monotonic_now)
        if refusal is None and kind is DECLINE:
            refusal = self.declines.refusal(message, self.engine, now, monotonic_now)
        if refusal is not None:   # over a rate limit, or refused by the DECLINE guard
            self.stats.drop(refusal, ingress.ifname)
            return
        try:
            decision = self.engine.handle(message, ingress, now)
        except Exception:  # a bug must cost one packet, never the server
            log.exception("internal error handling a packet from %s", ingress.ifname)
            self.stats.drop("internal-error", ingress.ifname)
            return
        if kind is DECLINE:
            self.declines.record(self.engine, decision.persist)
        self.carry_out(message, decision, ingress)

    def carry_out(self, message: DhcpMessage, decision: Decision, ingress: Ingress) -> None:
        """Log, count, probe (ping-check), look up a name (get-lease-hostnames), commit and send what the engine
        decided."""
        if decision.log and not decision.persist:  # with leases to commit, the outcome decides what is logged
            self._write_log(decision.log)
        if decision.drop_reason is not None:
            self.stats.drop(decision.drop_reason, ingress.ifname)
        # A decision that waits for a probe or a name has neither leases nor a reply yet: those are tested first.
        if decision.persist:
            if not self._to_commit and not self._in_turn:
                asyncio.get_running_loop().call_soon(self._commit_queued)
            self._to_commit.append((message, decision, ingress))
        elif decision.reply is not None:
            self._send(message, decision, ingress)
        elif isinstance(decision, ProbeFirst):
            self._in_background(self._probe_then_carry_out(message, decision, ingress))
        elif isinstance(decision, ResolveFirst):
            self._in_background(self._resolve_then_carry_out(message, decision, ingress))

    def _in_background(self, work: Coroutine[object, object, None]) -> None:
        """Run `work` as a task the server waits for when it stops."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _open_pinger(self, loop: asyncio.AbstractEventLoop) -> Pinger | None:
        try:
            pinger = Pinger()
        except OSError as error:
            log.warning("ping-check disabled, no ICMP socket: %s", error)
            return None
        pinger.attach(loop)
        return pinger

    async def _probe_then_carry_out(self, message: DhcpMessage, probe: ProbeFirst, ingress: Ingress) -> None:
        answered = self.pinger is not None and await self.pinger.answered(probe.address, probe.timeout)
        self._carry_on(message, ingress, f"probing {probe.address}",
                       lambda now: self.engine.probe_result(message, ingress, probe.address, answered, now))

    async def _resolve_then_carry_out(self, message: DhcpMessage, resolve: ResolveFirst, ingress: Ingress) -> None:
        name = await self.reverse_dns.name_of(resolve.address)
        self._carry_on(message, ingress, f"looking up the name of {resolve.address}",
                       lambda now: self.engine.name_resolved(message, ingress, resolve.address, name, now))

    def _carry_on(self, message: DhcpMessage, ingress: Ingress, after: str,
                  decide: Callable[[float], Decision]) -> None:
        """Give the engine the outcome of an I/O step (`decide`) and carry out its new decision; a bug there
        costs this one request, never the server."""
        try:
            decision = decide(time.time())
        except Exception:
            log.exception("internal error after %s", after)
            self.stats.drop("internal-error", ingress.ifname)
            return
        self.carry_out(message, decision, ingress)

    def _commit_queued(self) -> None:
        """Commit the leases decided so far now, or, within COMMIT_INTERVAL of the last commit's start, when that
        interval ends (with those decided until then)."""
        if not self._to_commit or self._commit_timer is not None:
            return
        wait = self._last_commit + COMMIT_INTERVAL - time.monotonic()
        if wait > 0:
            self._commit_timer = asyncio.get_running_loop().call_later(wait, self._commit_now)
        else:
            self._commit_now()

    def _commit_now(self) -> None:
        """Commit the leases of every decision waiting in one transaction, then send the replies: in the loop
        itself when the store can do that without waiting, else through the commit thread."""
        if self._commit_timer is not None:
            self._commit_timer.cancel()
            self._commit_timer = None
        if not self._to_commit:
            return
        self._last_commit = time.monotonic()
        batch, self._to_commit = self._to_commit, []
        leases = [lease for _, decision, _ in batch for lease in decision.persist]
        try:
            lost = self.committer.commit_now(leases)
        except Exception as error:
            self._not_committed(batch, error)
            return
        if lost is None:
            self._in_background(self._commit_then_send(batch, leases))
        elif lost:
            self._in_background(self._send_after_commit(batch, lost))
        else:
            for request, decision, ingress in batch:
                self._send_committed(request, decision, ingress, lost)

    async def _commit_then_send(self, batch: list[tuple[DhcpMessage, Decision, Ingress]], leases: list) -> None:
        try:
            lost = await self.committer.persist(leases)
        except Exception as error:
            self._not_committed(batch, error)
            return
        await self._send_after_commit(batch, lost)

    async def _send_after_commit(self, batch: list[tuple[DhcpMessage, Decision, Ingress]], lost: frozenset) -> None:
        """Send each reply of a committed batch, but never an ACK for an address another server took first:
        then the index learns the winner, and the client's retry is answered from it."""
        if lost:
            await self._adopt_winners(lost)
        for request, decision, ingress in batch:
            self._send_committed(request, decision, ingress, lost)

    def _not_committed(self, batch: list[tuple[DhcpMessage, Decision, Ingress]], error: Exception) -> None:
        for _, decision, ingress in batch:
            self.stats.commit_failures += 1
            self.stats.drop("commit-failed", ingress.ifname)
            self._write_log(_unanswered(decision.log))
            log.error("lease not committed, no reply sent for %s: %s", decision.persist[0].ip, error)

    def _send_committed(self, request: DhcpMessage, decision: Decision, ingress: Ingress, lost: frozenset) -> None:
        if lost and decision.reply is not None and decision.reply.yiaddr in lost:  # lost: mostly empty, no hash
            self.stats.drop("lease-conflict", ingress.ifname)
            self._write_log([*_unanswered(decision.log),
                             f"{decision.reply.yiaddr} was taken by another server first: no DHCPACK sent"])
            return
        self._write_log(decision.log)
        if decision.reply is not None:
            self._send(request, decision, ingress)

    async def _adopt_winners(self, lost: frozenset) -> None:
        """Replace our leases of `lost` addresses in the index by the rows that won them in the database."""
        winners = await asyncio.to_thread(lambda: [self.store.get(ip) for ip in lost])
        for winner in winners:
            if winner is not None:
                self.engine.leases.put(winner)

    def _write_log(self, lines: list[str]) -> None:
        if not lines:
            return
        if self.packet_log.extend(lines):
            asyncio.get_running_loop().call_later(LOG_WRITE_DELAY, self.packet_log.flush)

    def _send(self, request: DhcpMessage, decision: Decision, ingress: Ingress) -> None:
        reply = decision.reply
        payload = reply_payload(request, reply)
        if payload is None:
            log.warning("no reply to %s via %s: it cannot fit in %d bytes", request.chaddr.hex(":"), ingress.ifname,
                        reply_size_limit(request))
            self.stats.drop("reply-too-large", ingress.ifname)
            return
        self.transmitter.send(payload, decision.destination, ingress, decision.server_ip)
        self.stats.sent[SENT_NAMES.get(reply.options.get(53), "BOOTREPLY")] += 1
        self.stats.links[ingress.ifname].replies += 1

    async def _reclaim_forever(self) -> None:
        while True:
            await asyncio.sleep(RECLAIM_INTERVAL)
            await self.reclaim_expired(time.time())

    async def reclaim_expired(self, now: float) -> None:
        """Expire the leases due at `now` in steps of at most RECLAIM_BATCH, letting packets through between
        steps, and record each step in the database."""
        while True:
            expired = self.engine.leases.reclaim(now, limit=RECLAIM_BATCH)
            if expired:
                try:
                    lost = await self.committer.persist(expired)
                except Exception as error:
                    log.error("expired leases not recorded (they stay expired in memory): %s", error)
                else:
                    if lost:  # another server gave these addresses out again before we expired them
                        await self._adopt_winners(lost)
            due = self.engine.leases.next_expiry()
            if due is None or due > now:
                return
            await asyncio.sleep(0)


def _unanswered(lines: list[str]) -> list[str]:
    """The log lines of a decision whose DHCPACK was not sent: all but that DHCPACK line."""
    return [line for line in lines if not line.startswith("DHCPACK on ")]


def reply_payload(request: DhcpMessage, reply: DhcpMessage) -> bytes | None:
    """The reply's bytes within the size the client accepts, or None when the options that may not be dropped
    do not fit (a relay's option 82 is echoed whole, and may be made longer than any reply can carry)."""
    try:
        return encode(reply, max_size=reply_size_limit(request))
    except MessageTooLarge:
        return None


def write_pid_file(path: str) -> None:
    with open(path, "w") as out:
        out.write(f"{os.getpid()}\n")


async def serve(settings: Settings, config: Config, store: LeaseStore,
                *services: Callable[[Server], Awaitable[None]]) -> None:
    server = Server(settings, config, store)
    await server.run(*services)

