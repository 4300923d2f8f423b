"""Benchmark harness: runs kea-dhcp4, isc-dhcpd, dnsmasq and this server side by side under perfdhcp load.

Everything runs inside network namespaces that the harness creates and deletes; see bench/README.md.
"""
