"""DHCPv4 server for Linux routers: one raw socket for every interface, ISC dhcpd.conf, REST API."""
