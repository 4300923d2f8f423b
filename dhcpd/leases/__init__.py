"""Leases: the plain lease record, its SQLAlchemy storage, and import/export of ISC dhcpd.leases."""
