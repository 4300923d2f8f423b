"""Configuration: the model the engine reads, and the ISC dhcpd.conf reader that fills it."""
