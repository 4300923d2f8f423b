"""The DHCP protocol (RFC 2131/2132), sans-I/O: no sockets, no netlink, no clock, no SQL."""
