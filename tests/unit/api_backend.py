"""A test backend for the API: a real `Server` (engine, lease store in a temporary SQLite file) that is not
running its packet loop, with a fixed interface table, and a starlette TestClient on `create_app`."""

from __future__ import annotations

from ipaddress import IPv4Interface
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ApiAuth
from dhcpd.admin import Admin
from dhcpd.config.parser import load
from dhcpd.leases.store import LeaseStore
from dhcpd.links import ServedLinks
from dhcpd.net.interfaces import Link
from dhcpd.server import Server, Settings

TOKEN = "test-token"
CONFIG = """
authoritative;
default-lease-time 600;
subnet 10.20.1.0 netmask 255.255.255.0 {
  range 10.20.1.100 10.20.1.149;
  option routers 10.20.1.1;
}
subnet 10.20.2.0 netmask 255.255.255.0 {
  range 10.20.2.100 10.20.2.199;
}
host printer {
  hardware ethernet 02:00:00:00:00:99;
  fixed-address 10.20.1.50;
}
"""
LINKS = [
    Link(1, "lo", "loopback", b"\0" * 6, True, None, None, None, [IPv4Interface("127.0.0.1/8")]),
    Link(2, "s1", "veth", bytes.fromhex("020000000001"), True, None, None, None, [IPv4Interface("10.20.1.1/24")]),
    Link(3, "trunk", "veth", bytes.fromhex("020000000002"), True, None, None, None, []),
    Link(4, "s1.5", "vlan", bytes.fromhex("020000000003"), False, None, 2, 5, [IPv4Interface("10.20.2.1/24")]),
]


class StaticLinks:
    """The part of `InterfaceTable` the API and `ServedLinks` read, over a fixed list of links."""

    def __init__(self, links: list[Link]) -> None:
        self._by_index = {link.index: link for link in links}

    def links(self) -> list[Link]:
        return list(self._by_index.values())

    def by_index(self, index: int) -> Link | None:
        return self._by_index.get(index)

    def served_link(self, index: int) -> Link | None:
        return self._by_index.get(index)


class NoTrunkSockets:
    """The backend opens no packet sockets, so there are no trunk sockets to keep in step with the links."""

    def sync(self, table: StaticLinks, names: object) -> None:
        self.synced_names = set(names)


def make_server(directory: Path, config_text: str = CONFIG) -> Server:
    config_path = directory / "dhcpd.conf"
    config_path.write_text(config_text)
    url = f"sqlite:///{directory / 'leases.sqlite'}"
    store = LeaseStore(url)
    store.upgrade()
    server = Server(Settings(str(config_path), url), load(str(config_path)), store)
    server.table = StaticLinks(LINKS)
    server.served = ServedLinks(server.table, server.engine.subnets)
    server.trunks = NoTrunkSockets()
    return server


def make_client(server: Server, token: str | None = TOKEN, reads_need_token: bool = False) -> TestClient:
    return TestClient(create_app(Admin(server), ApiAuth(token, reads_need_token)), raise_server_exceptions=False)


def authorized(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
