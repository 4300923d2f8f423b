"""BOOTP (RFC 951, RFC 1542) as isc-dhcpd serves it: which addresses a BOOTP client may get, and for how long.

A BOOTREQUEST without option 53 is answered for a client with a `host` fixed-address on its segment, and
for any other client from a `range dynamic-bootp` (or from a pool whose permit list lets it in, e.g.
`allow dynamic bootp clients`). A dynamic BOOTP lease never ends, unless `dynamic-bootp-lease-length`
gives its length. `deny bootp` / `ignore bootp` in the client's scope refuse both kinds. The BOOTREPLY
carries the configured options as RFC 1048 vendor extensions, but no DHCP message type, server identifier
or lease times (`dhcpd.engine.reply.BOOTP_STEPS`).
"""

from __future__ import annotations

import math

from dhcpd.config.model import AddressRange, Pool
from dhcpd.engine.reply import ScopeStack


def bootp_ranges(pool: Pool) -> list[AddressRange]:
    """The ranges of `pool` a dynamic BOOTP client may be given an address from.

    A pool with a permit list serves BOOTP clients from every range when the list lets them in (the
    engine checks the list; "dynamic bootp clients" matches them). Without one, only its `range
    dynamic-bootp` ranges do: isc-dhcpd keeps a subnet's plain `range`s away from BOOTP clients.
    """
    if pool.permits:
        return pool.ranges
    return [address_range for address_range in pool.ranges if address_range.dynamic_bootp]


def bootp_lease_seconds(scopes: ScopeStack) -> float:
    """`dynamic-bootp-lease-length`, else forever (isc's `ends never`)."""
    length = scopes.param("dynamic-bootp-lease-length")
    return math.inf if length is None else float(length)
