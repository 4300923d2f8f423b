"""Writer of ISC dhcpd.leases(5) files: leases out in the form isc-dhcpd itself writes and reads back.

States: DECLINED is written as `abandoned` (isc's state for a declined address). OFFERED is written as
`free` with the client's MAC and uid kept: an offer commits nothing, but isc gives a free lease that
remembers a client back to that client, so the client's affinity to the address survives the export.
Fields isc's format has no place for (subnet, interface, ifindex, VLANs, relay) are not written, and
times are written in whole seconds.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from dhcpd.leases.iscfile_syntax import format_data, format_date, format_hex_list, quote
from dhcpd.leases.record import Lease, LeaseState

WRITTEN_STATES = {
    LeaseState.ACTIVE: "active",
    LeaseState.FREE: "free",
    LeaseState.BACKUP: "backup",
    LeaseState.ABANDONED: "abandoned",
    LeaseState.DECLINED: "abandoned",
    LeaseState.EXPIRED: "expired",
    LeaseState.RELEASED: "released",
    LeaseState.OFFERED: "free",
}
# States that isc moves to `free` when `ends` passes: it writes that as `next binding state free`.
MOVING_TO_FREE = frozenset({"active", "abandoned", "expired", "released"})


def write_leases(leases: Iterable[Lease], out: TextIO, *, now: float) -> None:
    """Write a complete lease file: header comment, byte order, then one `lease` block per lease."""
    out.write(
        "# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
        f"# Written by pydhcpd at {format_date(now)} (UTC).\n"
        f"authoring-byte-order {sys.byteorder}-endian;\n"
    )
    for lease in leases:
        out.write(format_lease(lease))


def format_lease(lease: Lease) -> str:
    """One `lease ADDRESS { ... }` block, statements in isc's order."""
    state = WRITTEN_STATES[lease.state]
    lines = [f"\nlease {lease.ip} {{\n"]
    if lease.starts:
        lines.append(f"  starts {format_date(lease.starts)};\n")
    if lease.expires:
        lines.append(f"  ends {format_date(lease.expires)};\n")
    if lease.starts:
        lines.append(f"  cltt {format_date(lease.starts)};\n")
    lines.append(f"  binding state {state};\n")
    if state in MOVING_TO_FREE:
        lines.append("  next binding state free;\n")
    if lease.mac:
        lines.append(f"  hardware ethernet {format_hex_list(lease.mac)};\n")
    if lease.client_id:
        lines.append(f"  uid {quote(lease.client_id)};\n")
    if lease.circuit_id:
        lines.append(f"  option agent.circuit-id {format_data(lease.circuit_id)};\n")
    if lease.remote_id:
        lines.append(f"  option agent.remote-id {format_data(lease.remote_id)};\n")
    if lease.hostname:
        lines.append(f"  client-hostname {quote(lease.hostname.encode('utf-8'))};\n")
    lines.append("}\n")
    return "".join(lines)
