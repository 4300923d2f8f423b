"""Test harness for tests that need a real kernel: network namespaces, DHCP clients, relays, reference servers.

Everything here runs inside namespaces the harness created itself (`ip netns add`), joined by veth pairs;
nothing is ever started in the root namespace.
"""
