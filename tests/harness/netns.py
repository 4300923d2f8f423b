"""Network namespaces for tests: create them, wire them with veth pairs and bridges, run commands inside.

A `NamespaceFactory` makes namespaces with unique names (prefix + random suffix) and, on `cleanup()`,
stops every process it started in them (by pid: SIGTERM, then SIGKILL), kills any other process left
inside them, and deletes them. The pytest fixture `netns` in tests/conftest.py wraps one factory per test.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from pyroute2 import netns as pyroute2_netns

from tests.harness.process import Process
from tests.harness.reaper import become_subreaper

DEFAULT_TIMEOUT = 30.0
NAMESPACE_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,11}$")


class CommandFailed(Exception):
    """A command run in a namespace exited non-zero; carries its output so the failure explains itself."""

    def __init__(self, argv: Sequence[str], completed: subprocess.CompletedProcess[str]) -> None:
        self.argv = list(argv)
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        super().__init__(
            f"{' '.join(self.argv)!r} exited {self.returncode}\nstdout: {self.stdout.strip()}\n"
            f"stderr: {self.stderr.strip()}"
        )


def run_host_command(argv: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> str:
    """Run an `ip` administration command (namespace add/delete, cross-namespace links); raise on failure."""
    completed = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise CommandFailed(argv, completed)
    return completed.stdout


class Namespace:
    """One network namespace with a private work directory for its logs, lease and pid files."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.processes: list[Process] = []

    @classmethod
    def create(cls, name: str, workdir: Path) -> Namespace:
        """Add the namespace (fails if it exists) and bring its loopback up."""
        run_host_command(["ip", "netns", "add", name])
        namespace = cls(name, workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        namespace.up("lo")
        return namespace

    def exec_argv(self, cmd: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *cmd]

    def run(
        self,
        cmd: Sequence[str],
        check: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command to completion inside the namespace, capturing its output as text."""
        argv = self.exec_argv(cmd)
        completed = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=_merged_env(env), stdin=subprocess.DEVNULL
        )
        if check and completed.returncode != 0:
            raise CommandFailed(argv, completed)
        return completed

    def spawn(
        self,
        cmd: Sequence[str],
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
        to_terminal: bool = False,
    ) -> Process:
        """Start a long-running command inside the namespace; it is stopped by pid when the namespace goes.

        Its output goes to `log_path` (default: a file in the work directory), or to our own stdout and
        stderr when `to_terminal` is set (then `Process.log()` is empty).
        """
        argv = self.exec_argv(cmd)
        if to_terminal:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, env=_merged_env(env))
            process = Process(popen, None, argv)
        else:
            log_path = log_path or self.workdir / f"{Path(cmd[0]).name}-{len(self.processes)}.log"
            with open(log_path, "ab") as log_file:
                popen = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=_merged_env(env)
                )
            process = Process(popen, log_path, argv)
        self.processes.append(process)
        return process

    def run_python(self, code: str, *args: str, timeout: float = DEFAULT_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run `python -c code args...` with this interpreter inside the namespace."""
        return self.run([sys.executable, "-c", code, *args], timeout=timeout)

    def call(self, function: Callable[..., Any], *args: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Run a picklable-result callable in a forked child that joined this namespace; return its result."""
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=_call_inside, args=(self.name, function, args, sender))
        child.start()
        sender.close()
        try:
            if not receiver.poll(timeout):
                raise TimeoutError(f"{function!r} did not finish within {timeout} s in namespace {self.name}")
            succeeded, value = receiver.recv()
        finally:
            if child.is_alive():
                child.kill()
            child.join()
            receiver.close()
        if not succeeded:
            raise value
        return value

    def up(self, ifname: str) -> None:
        self.run(["ip", "link", "set", "dev", ifname, "up"])

    def add_address(self, ifname: str, cidr: str) -> None:
        self.run(["ip", "address", "add", cidr, "dev", ifname])

    def addresses(self, ifname: str) -> list[str]:
        """The IPv4 addresses (with prefix length) currently on an interface."""
        output = self.run(["ip", "-4", "-o", "address", "show", "dev", ifname]).stdout
        return re.findall(r"\binet (\S+)", output)

    def veth(self, peer: Namespace, name_here: str, name_there: str) -> None:
        """Create a veth pair directly in both namespaces (no name ever exists in the root namespace), both up."""
        run_host_command(
            ["ip", "-n", self.name, "link", "add", name_here, "type", "veth", "peer", "name", name_there,
             "netns", peer.name]
        )
        self.up(name_here)
        peer.up(name_there)

    def add_bridge(self, name: str) -> None:
        self.run(["ip", "link", "add", name, "type", "bridge"])
        self.up(name)

    def attach_to_bridge(self, ifname: str, bridge: str) -> None:
        self.run(["ip", "link", "set", "dev", ifname, "master", bridge])

    def pids(self) -> list[int]:
        """Every process currently inside the namespace (including ones not started by `spawn`)."""
        output = run_host_command(["ip", "netns", "pids", self.name])
        return [int(pid) for pid in output.split()]

    def destroy(self) -> None:
        """Stop what was spawned here, kill and reap anything else left inside, delete the namespace."""
        strays = set(self.pids()) - {process.pid for process in self.processes}
        for process in reversed(self.processes):
            process.stop()
        for pid in strays | set(self.pids()):
            _kill_and_reap(pid)
        run_host_command(["ip", "netns", "delete", self.name])

    def __repr__(self) -> str:
        return f"Namespace({self.name!r})"


class NamespaceFactory:
    """Makes uniquely named namespaces under one work directory and tears them all down together."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.namespaces: list[Namespace] = []
        become_subreaper()

    def __call__(self, prefix: str) -> Namespace:
        if not NAMESPACE_PREFIX.match(prefix):
            raise ValueError(f"namespace prefix {prefix!r} must be 2-12 lowercase letters or digits")
        return self.create_named(f"{prefix}-{secrets.token_hex(3)}")

    def create_named(self, name: str) -> Namespace:
        """A namespace with exactly this name (fails if it exists), torn down with the others."""
        namespace = Namespace.create(name, self.workdir / name)
        self.namespaces.append(namespace)
        return namespace

    def cleanup(self) -> None:
        """Destroy every namespace made here, newest first; report all failures after trying every one."""
        failures: list[Exception] = []
        while self.namespaces:
            namespace = self.namespaces.pop()
            try:
                namespace.destroy()
            except (CommandFailed, OSError, subprocess.SubprocessError) as error:
                failures.append(error)
        if failures:
            raise RuntimeError(f"namespace cleanup failed: {failures}")


def existing_namespaces() -> list[str]:
    """Names of all namespaces in /run/netns (to check that tests left none behind)."""
    return [line.split()[0] for line in run_host_command(["ip", "netns", "list"]).splitlines() if line.strip()]


def _merged_env(extra: dict[str, str] | None) -> dict[str, str] | None:
    return None if extra is None else {**os.environ, **extra}


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass  # already gone, or not our child: its own parent reaps it


def _call_inside(name: str, function: Callable[..., Any], args: tuple[Any, ...], sender: Any) -> None:
    try:
        pyroute2_netns.setns(name)
        result: tuple[bool, Any] = (True, function(*args))
    except BaseException as error:  # noqa: BLE001 - every failure is carried back to the parent
        result = (False, error)
    sender.send(result)
    sender.close()
