"""`ping-check`: the engine's request to the server to probe an address with an ICMP echo before offering it.

The engine stays sans-I/O: for a DISCOVER that would get an address new to the client, with `ping-check
true` in scope, it holds the address for the client and returns `ProbeFirst` instead of an offer. The
server sends the echo, waits `timeout` seconds, and calls `Engine.probe_result` with whether anything
answered: silence gives the offer; an answer abandons the address (isc-dhcpd's "pinged before offer")
with no reply, as isc-dhcpd does, and the client's next DISCOVER gets another address.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from dhcpd.engine.types import Decision
from dhcpd.wire.message import ZERO

DEFAULT_PING_TIMEOUT = 1.0


@dataclass(slots=True)
class ProbeFirst(Decision):
    """No reply yet: probe `address`, then call `Engine.probe_result` with the outcome."""

    address: IPv4Address = ZERO
    timeout: float = DEFAULT_PING_TIMEOUT


def ping_timeout(ping_timeout_seconds: int | None, ping_timeout_ms: int | None) -> float:
    """isc's `ping-timeout-ms` wins over `ping-timeout`; one second when neither is set."""
    if ping_timeout_ms is not None:
        return ping_timeout_ms / 1000
    return float(ping_timeout_seconds) if ping_timeout_seconds is not None else DEFAULT_PING_TIMEOUT
