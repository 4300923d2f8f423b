"""The netlink interface table: the initial dump, and live link and address events applied while attached."""

from __future__ import annotations

import asyncio
import subprocess
from ipaddress import IPv4Interface

import pytest

from dhcpd.net.interfaces import InterfaceTable

pytestmark = pytest.mark.netns

WAIT_SECONDS = 5.0


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


async def until(condition, timeout: float = WAIT_SECONDS) -> bool:
    """Let the loop apply events until `condition()` holds or the timeout passes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def master_name(table: InterfaceTable, name: str) -> str | None:
    master = table.by_index(table.by_name(name).master or 0)
    return master.name if master else None


def observe_live_changes() -> dict[str, object]:
    """Runs inside the test namespace: attach, change links and addresses, report what the table saw."""
    facts: dict[str, object] = {}
    changed: list[str] = []

    async def scenario() -> None:
        table = InterfaceTable(on_change=lambda link: changed.append(link.name))
        table.attach(asyncio.get_running_loop())
        try:
            facts["loopback"] = table.by_name("lo").kind
            ip("link", "add", "v1", "type", "veth", "peer", "name", "v2")
            ip("address", "add", "10.5.0.1/24", "dev", "v1")
            ip("link", "set", "v1", "up")
            facts["added"] = await until(lambda: table.by_name("v1") is not None
                                         and table.by_name("v1").addresses and table.by_name("v1").up)
            v1 = table.by_name("v1")
            facts["v1"] = (v1.kind, list(v1.addresses), v1.up, v1.lower, len(v1.mac))

            ip("link", "add", "br0", "type", "bridge")
            ip("link", "set", "v2", "master", "br0")
            facts["enslaved"] = await until(lambda: master_name(table, "v2") == "br0")
            facts["served_as"] = table.served_link(table.by_name("v2").index).name
            ip("link", "set", "v2", "nomaster")
            facts["released"] = await until(lambda: master_name(table, "v2") is None)

            ip("address", "del", "10.5.0.1/24", "dev", "v1")
            facts["address_removed"] = await until(lambda: table.by_name("v1").addresses == ())
            ip("link", "set", "v1", "down")
            ip("link", "set", "v1", "name", "uplink")
            facts["renamed"] = await until(lambda: table.by_name("uplink") is not None)
            facts["old_name_gone"] = table.by_name("v1") is None
            facts["down"] = not table.by_name("uplink").up
            index = table.by_name("uplink").index
            ip("link", "del", "uplink")
            facts["removed"] = await until(lambda: table.by_index(index) is None and table.by_name("v2") is None)
            facts["changed"] = set(changed)
        finally:
            table.detach()

    asyncio.run(scenario())
    return facts


def dump_topology() -> list[tuple]:
    table = InterfaceTable()
    table.load()
    return sorted((link.name, link.kind, link.master is not None, list(link.addresses)) for link in table.links())


def test_load_reads_links_kinds_masters_and_addresses(netns):
    namespace = netns("tnet")
    namespace.add_bridge("br0")
    namespace.run(["ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1"])
    namespace.attach_to_bridge("p0", "br0")
    namespace.add_address("br0", "10.6.0.1/24")
    namespace.add_address("br0", "10.6.1.1/24")
    assert namespace.call(dump_topology) == [
        ("br0", "bridge", False, [IPv4Interface("10.6.0.1/24"), IPv4Interface("10.6.1.1/24")]),
        ("lo", "loopback", False, [IPv4Interface("127.0.0.1/8")]),
        ("p0", "veth", True, []),
        ("p1", "veth", False, []),
    ]


def test_attached_table_follows_links_and_addresses(netns):
    facts = netns("tnet").call(observe_live_changes)
    assert facts["loopback"] == "loopback"
    assert facts["added"] and facts["v1"] == ("veth", [IPv4Interface("10.5.0.1/24")], True, None, 6)
    assert facts["enslaved"] and facts["served_as"] == "br0" and facts["released"]
    assert facts["address_removed"]
    assert facts["renamed"] and facts["old_name_gone"] and facts["down"]
    assert facts["removed"]
    assert {"v1", "v2", "br0", "uplink"} <= facts["changed"]
