"""The wire format: DHCP messages, their options, and Ethernet/802.1Q/IPv4/UDP framing."""
