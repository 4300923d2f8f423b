"""The namespace harness itself: wiring, running inside, and leaving nothing behind."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.harness.netns import CommandFailed, NamespaceFactory, existing_namespaces

pytestmark = pytest.mark.netns


def interface_names() -> list[str]:
    return [name for _, name in socket.if_nameindex()]


def test_veth_pair_links_two_namespaces(netns):
    left, right = netns("tinf"), netns("tinf")
    left.veth(right, "l0", "r0")
    left.add_address("l0", "10.98.0.1/24")
    right.add_address("r0", "10.98.0.2/24")

    right.run(["ping", "-c", "1", "-W", "5", "10.98.0.1"])

    assert left.addresses("l0") == ["10.98.0.1/24"]
    assert "l0" not in interface_names()


def test_bridge_joins_ports(netns):
    hub, first, second = netns("tinf"), netns("tinf"), netns("tinf")
    hub.add_bridge("br0")
    for index, (spoke, port) in enumerate([(first, "p1"), (second, "p2")], start=1):
        hub.veth(spoke, port, "e0")
        hub.attach_to_bridge(port, "br0")
        spoke.add_address("e0", f"10.98.1.{index}/24")

    first.run(["ping", "-c", "1", "-W", "5", "10.98.1.2"])

    assert "master br0" in hub.run(["ip", "link", "show", "p1"]).stdout


def test_call_runs_a_python_callable_inside(netns):
    namespace = netns("tinf")
    namespace.veth(netns("tinf"), "inside0", "peer0")

    assert namespace.call(interface_names) == ["lo", "inside0"]
    assert namespace.run_python("import socket; print(socket.if_nameindex()[0][1])").stdout.strip() == "lo"


def test_call_carries_exceptions_back(netns):
    with pytest.raises(ZeroDivisionError):
        netns("tinf").call(divmod, 1, 0)


def test_failed_command_reports_its_stderr(netns):
    with pytest.raises(CommandFailed, match="Cannot find device"):
        netns("tinf").up("nosuchdev")


def test_cleanup_stops_processes_and_deletes_namespaces(tmp_path: Path):
    factory = NamespaceFactory(tmp_path)
    namespace = factory("tinf")
    sleeper = namespace.spawn(["sleep", "300"])
    stray = subprocess.Popen(namespace.exec_argv(["sleep", "300"]))

    factory.cleanup()

    assert not sleeper.alive()
    with pytest.raises(ProcessLookupError):
        os.kill(stray.pid, 0)
    assert namespace.name not in existing_namespaces()


def test_prefix_must_be_short_and_plain(tmp_path: Path):
    with pytest.raises(ValueError, match="prefix"):
        NamespaceFactory(tmp_path)("Bad_Prefix")
