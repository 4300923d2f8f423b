"""Real DHCP clients (dhclient, udhcpc, dhcpcd) run inside a namespace, isolated from the host's files.

Each client gets its own directory (lease, pid, config files) under the namespace's work directory and a
script from client-scripts/ that only sets the address and appends "EVENT ADDRESS" lines to an event file,
so no client ever rewrites /etc/resolv.conf, routes or the hostname. The harness reads that event file to
learn what the client got.
"""

from __future__ import annotations

import math
import signal
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import ClassVar

from tests.harness.netns import Namespace
from tests.harness.process import Process
from tests.harness.waiting import poll

CLIENT_SCRIPTS = Path(__file__).parent / "client-scripts"
REAPER = Path(__file__).parent / "reaper.py"
BOUND_EVENTS = frozenset({"bound", "renew", "rebind", "reboot"})
EXITED = "exited"


@dataclass(frozen=True)
class ClientEvent:
    """One line of a client's event file: what happened (lower-cased) and the address it concerned."""

    name: str
    address: IPv4Address | None


class EventLog:
    """The append-only event file a client script writes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[ClientEvent]:
        if not self.path.exists():
            return []
        events = []
        for line in self.path.read_text().splitlines():
            name, _, address = line.partition(" ")
            events.append(ClientEvent(name.lower(), IPv4Address(address) if address.strip() else None))
        return events

    def first_after(self, marker: int, names: frozenset[str]) -> ClientEvent | None:
        return next((event for event in self.read()[marker:] if event.name in names), None)


class DhcpClient(ABC):
    """One client program on one interface; subclasses say how to start, renew and release it."""

    program: ClassVar[str]

    def __init__(self, namespace: Namespace, ifname: str) -> None:
        self.namespace = namespace
        self.ifname = ifname
        self.workdir = namespace.workdir / f"{self.program}-{ifname}"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.events = EventLog(self.workdir / "events")
        self.process: Process | None = None

    @property
    def script(self) -> Path:
        return CLIENT_SCRIPTS / f"{self.program}.sh"

    @abstractmethod
    def command(self, timeout: float) -> list[str]:
        """The argv that starts this client, trying for at most about `timeout` seconds."""

    def start(self, timeout: float) -> None:
        self.process = self.namespace.spawn(
            self.command(timeout),
            log_path=self.workdir / f"{self.program}.log",
            env={"HARNESS_EVENTS": str(self.events.path)},
        )

    def acquire(self, timeout: float = 20.0) -> IPv4Address | None:
        """Start the client and wait for it to bind; the address, or None (and the client stopped) if it got
        none within `timeout`."""
        marker = len(self.events.read())
        self.start(timeout)
        address = self.wait_event(marker, BOUND_EVENTS, timeout).address
        if address is None:
            self.stop()
        return address

    def wait_event(self, marker: int, names: frozenset[str], timeout: float) -> ClientEvent:
        """The first event named in `names` after the first `marker` events; an `exited` event if none came."""
        def probe() -> ClientEvent | None:
            event = self.events.first_after(marker, names)
            if event is None and self.process is not None and not self.process.alive():
                return self.events.first_after(marker, names) or ClientEvent(EXITED, None)
            return event

        return poll(probe, timeout) or ClientEvent(EXITED, None)

    def signal_and_wait(self, signum: int, names: frozenset[str], timeout: float) -> ClientEvent:
        if self.process is None:
            raise RuntimeError(f"{self.program} on {self.ifname} was never started")
        marker = len(self.events.read())
        self.process.signal(signum)
        return self.wait_event(marker, names, timeout)

    def stop(self) -> None:
        """Stop the client without releasing its lease."""
        if self.process is not None:
            self.process.stop()


class Dhclient(DhcpClient):
    """ISC dhclient in the foreground, trying once (`-1`), with its own config, lease, pid and script files."""

    program = "dhclient"

    def files_args(self) -> list[str]:
        return [
            "-cf", str(self.workdir / "dhclient.conf"), "-lf", str(self.workdir / "dhclient.leases"),
            "-pf", str(self.workdir / "dhclient.pid"), "-sf", str(self.script),
            "-e", f"HARNESS_EVENTS={self.events.path}",
        ]

    def command(self, timeout: float) -> list[str]:
        (self.workdir / "dhclient.conf").write_text(f"timeout {math.ceil(timeout)};\nretry 1;\ninitial-interval 1;\n")
        return ["dhclient", "-4", "-1", "-d", "-v", *self.files_args(), self.ifname]

    def release(self, timeout: float = 10.0) -> bool:
        """`dhclient -r`: stops the running client (via its pid file) and sends DHCPRELEASE."""
        marker = len(self.events.read())
        self.namespace.run(["dhclient", "-4", "-r", "-v", *self.files_args(), self.ifname], timeout=timeout)
        return self.wait_event(marker, frozenset({"release"}), timeout).name == "release"

    def reboot(self, timeout: float = 20.0) -> IPv4Address | None:
        """Stop and start again: the client asks for its remembered address (INIT-REBOOT, RFC 2131 3.2)."""
        self.stop()
        return self.acquire(timeout)


class Udhcpc(DhcpClient):
    """BusyBox udhcpc in the foreground; SIGUSR1 renews (unicast RENEW), SIGUSR2 releases."""

    program = "udhcpc"

    def command(self, timeout: float) -> list[str]:
        discover_attempts = max(1, math.ceil(timeout))
        return ["udhcpc", "-f", "-n", "-i", self.ifname, "-s", str(self.script),
                "-t", str(discover_attempts), "-T", "1"]

    def renew(self, timeout: float = 10.0) -> IPv4Address | None:
        return self.signal_and_wait(signal.SIGUSR1, frozenset({"renew", "bound"}), timeout).address

    def release(self, timeout: float = 10.0) -> bool:
        return self.signal_and_wait(signal.SIGUSR2, frozenset({"deconfig"}), timeout).name == "deconfig"


class Dhcpcd(DhcpClient):
    """dhcpcd 9 in the foreground, IPv4 only, with /run and /var/lib/dhcpcd bind-mounted to its own directory.

    `ip netns exec` gives each command a private mount namespace, so the bind mounts are invisible outside
    and two dhcpcd instances on equally named interfaces in different namespaces never share a pid file.
    It runs under reaper.py, which collects the helper processes dhcpcd leaves behind when it exits.
    """

    program = "dhcpcd"
    ISOLATE_AND_EXEC = 'mount --bind "$1" /run && mount --bind "$2" /var/lib/dhcpcd && shift 2 && exec "$@"'

    def command(self, timeout: float) -> list[str]:
        run_dir = self.workdir / "run"
        (run_dir / "dhcpcd").mkdir(parents=True, exist_ok=True)
        state_dir = self.workdir / "state"
        state_dir.mkdir(exist_ok=True)
        config = self.workdir / "dhcpcd.conf"
        config.write_text("option subnet_mask, routers, domain_name_servers\nnoarp\n")
        return [
            "sh", "-c", self.ISOLATE_AND_EXEC, "sh", str(run_dir), str(state_dir),
            sys.executable, str(REAPER), "dhcpcd", "-4", "-B", "-d", "-f", str(config), "-c", str(self.script),
            "-e", f"HARNESS_EVENTS={self.events.path}", "-t", str(math.ceil(timeout)), self.ifname,
        ]

    def renew(self, timeout: float = 10.0) -> IPv4Address | None:
        return self.signal_and_wait(signal.SIGUSR1, BOUND_EVENTS, timeout).address

    def release(self, timeout: float = 10.0) -> bool:
        # dhcpcd answers SIGALRM by sending DHCPRELEASE, then reports the interface stopped.
        return self.signal_and_wait(signal.SIGALRM, frozenset({"stop"}), timeout).name == "stop"


def run_dhclient(namespace: Namespace, ifname: str, timeout: float = 20.0) -> IPv4Address | None:
    """The address dhclient got on `ifname`; the client keeps running until the namespace is destroyed."""
    return Dhclient(namespace, ifname).acquire(timeout)


def run_udhcpc(namespace: Namespace, ifname: str, timeout: float = 20.0) -> IPv4Address | None:
    """The address udhcpc got on `ifname`; the client keeps running until the namespace is destroyed."""
    return Udhcpc(namespace, ifname).acquire(timeout)


def run_dhcpcd(namespace: Namespace, ifname: str, timeout: float = 20.0) -> IPv4Address | None:
    """The address dhcpcd got on `ifname`; the client keeps running until the namespace is destroyed."""
    return Dhcpcd(namespace, ifname).acquire(timeout)
