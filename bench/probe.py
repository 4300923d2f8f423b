"""Start-up probe: acts as a relay agent on one link and sends a DISCOVER every 10 ms until a server OFFERs.

Run inside the namespace of the link's peer end (`python -m bench.probe LOCAL SERVER TIMEOUT`). It prints
"ready" once its socket is bound, then the CLOCK_MONOTONIC time (system-wide, so comparable with the
harness's clock) at which the first OFFER arrived, or nothing and exit status 1 after TIMEOUT seconds.
"""

import os
import select
import socket
import struct
import sys
import time

BOOTP_PORT = 67
MAGIC_COOKIE = bytes((99, 130, 83, 99))
PROBE_MAC = bytes.fromhex("02000000be01")
OFFER_OPTION = bytes((53, 1, 2))
RESEND_SECONDS = 0.01


def relayed_discover(xid: int, relay_address: str) -> bytes:
    """A DHCPDISCOVER as a relay agent at `relay_address` forwards it (hops 1, giaddr set)."""
    header = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 1, xid, 0, 0, bytes(4), bytes(4), bytes(4),
                         socket.inet_aton(relay_address), PROBE_MAC, b"", b"")
    return header + MAGIC_COOKIE + bytes((53, 1, 1, 255))


def is_offer_for(reply: bytes, xid: int) -> bool:
    """True when `reply` is a BOOTREPLY for `xid` carrying DHCP message type OFFER."""
    return (len(reply) > 240 and reply[0] == 2 and struct.unpack("!I", reply[4:8])[0] == xid
            and reply[236:240] == MAGIC_COOKIE and OFFER_OPTION in reply[240:])


def wait_for_offer(local_address: str, server_address: str, timeout: float) -> float | None:
    """Send DISCOVERs until an OFFER arrives; its monotonic arrival time, or None after `timeout` seconds."""
    xid = int.from_bytes(os.urandom(4), "big")
    discover = relayed_discover(xid, local_address)
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as relay_socket:
        relay_socket.bind((local_address, BOOTP_PORT))
        print("ready", flush=True)
        while time.monotonic() < deadline:
            relay_socket.sendto(discover, (server_address, BOOTP_PORT))
            ready, _, _ = select.select([relay_socket], [], [], RESEND_SECONDS)
            if ready and is_offer_for(relay_socket.recv(4096), xid):
                return time.monotonic()
    return None


def main() -> int:
    local_address, server_address, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    answered_at = wait_for_offer(local_address, server_address, timeout)
    if answered_at is None:
        return 1
    print(f"{answered_at:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
