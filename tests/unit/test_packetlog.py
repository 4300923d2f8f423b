"""The batched per-message log: lines keep their order and get isc's time stamp."""

import io
import re
import time

import pytest

from dhcpd.packetlog import PacketLog, stderr_writer

pytestmark = pytest.mark.unit


def test_lines_are_written_in_order_with_a_time_stamp_on_flush():
    out = io.StringIO()
    log = PacketLog(stderr_writer(out))
    log.extend(["DHCPDISCOVER from 02:00:00:00:00:01 via s1", "DHCPOFFER on 10.0.0.5 to 02:00:00:00:00:01 via s1"])
    assert out.getvalue() == "" and log.pending
    log.flush()
    lines = out.getvalue().splitlines()
    assert [line[16:] for line in lines] == ["DHCPDISCOVER from 02:00:00:00:00:01 via s1",
                                             "DHCPOFFER on 10.0.0.5 to 02:00:00:00:00:01 via s1"]
    assert all(re.match(r"[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d ", line) for line in lines)
    assert not log.pending


def test_the_stamp_is_the_local_time_of_each_write_to_the_second(monkeypatch):
    out = io.StringIO()
    write = stderr_writer(out)
    start = 1_700_000_000.0
    for now in (start + 0.2, start + 0.9, start + 1.1, start + 3600.5):
        monkeypatch.setattr("dhcpd.packetlog.time.time", lambda: now)
        write(["DHCPACK on 10.0.0.5 to 02:00:00:00:00:01 via s1"])
        expected = time.strftime("%b %d %H:%M:%S ", time.localtime(now))
        assert out.getvalue().splitlines()[-1] == expected + "DHCPACK on 10.0.0.5 to 02:00:00:00:00:01 via s1"
