"""sd_notify: the state reaches a unix datagram socket named by $NOTIFY_SOCKET (a path, or "@name" in the
abstract namespace); without the variable, or with a socket nobody listens on, nothing fails. The systemd
unit in etc/ waits for that notification and runs command lines the CLI accepts."""

from __future__ import annotations

import configparser
import os
import shlex
import socket
from pathlib import Path

import pytest

from dhcpd.cli import argument_parser
from dhcpd.notify import notify

pytestmark = pytest.mark.unit

UNIT_FILE = Path(__file__).resolve().parents[2] / "etc" / "pydhcpd.service"


def listening(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_state_goes_to_a_socket_path(tmp_path, monkeypatch):
    path = str(tmp_path / "notify")
    with listening(path) as sock:
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert notify("READY=1\nSTATUS=serving")
        assert sock.recv(4096) == b"READY=1\nSTATUS=serving"


def test_an_at_sign_names_an_abstract_socket(monkeypatch):
    name = f"pydhcpd-test-{os.getpid()}"
    with listening("\0" + name) as sock:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify("STOPPING=1")
        assert sock.recv(4096) == b"STOPPING=1"


def test_without_systemd_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False


def test_a_socket_nobody_listens_on_is_reported_not_raised(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert notify("READY=1") is False
    assert "could not notify systemd" in caplog.text


def test_the_systemd_unit_waits_for_readiness_and_runs_valid_command_lines():
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str
    unit.read_string(UNIT_FILE.read_text())
    service = unit["Service"]
    assert service["Type"] == "notify" and service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    check, start = (argument_parser().parse_args([word for word in shlex.split(service[key])[1:]
                                                  if not word.startswith("$")])
                    for key in ("ExecStartPre", "ExecStart"))
    assert check.test_config and check.config_file == "/etc/dhcp/dhcpd.conf"
    assert start.foreground and not start.test_config and start.config_file == "/etc/dhcp/dhcpd.conf"
