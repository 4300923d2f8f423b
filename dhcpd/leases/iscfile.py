"""Import and export of ISC dhcpd.leases(5) files: the public entry points for the CLI and the server.

`parse_leases` reads a file isc-dhcpd wrote (final state per address); `write_leases` writes one isc-dhcpd
reads (`dhcpd -T` accepts it). Details live in iscfile_reader, iscfile_writer and iscfile_syntax.
"""

from dhcpd.leases.iscfile_reader import ParseError, parse_leases
from dhcpd.leases.iscfile_writer import write_leases

__all__ = ["ParseError", "parse_leases", "write_leases"]
