"""The I/O layer: one AF_PACKET socket for every interface, the UDP/67 guard socket, the netlink interface
table and RFC 2131 4.1 transmission. No DHCP logic lives here."""
