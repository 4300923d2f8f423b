"""/api/v1/interfaces: every link of the namespace, whether it is served (and why not), and its counters."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ServerDep
from api.responses import json_array
from api.schemas import InterfaceOut
from dhcpd.net.interfaces import Link
from dhcpd.stats import LinkCounters

router = APIRouter(tags=["interfaces"])


@router.get("/interfaces", response_model=list[InterfaceOut])
async def list_interfaces(server: ServerDep) -> Response:
    links = sorted(server.table.links(), key=lambda link: link.index)
    return json_array(interface_out(server, link) for link in links)


def interface_out(server, link: Link) -> InterfaceOut:
    table = server.table
    why = server.served.why_not_served(link)
    counters = server.stats.links.get(link.name, LinkCounters())
    master, lower = table.by_index(link.master or 0), table.by_index(link.lower or 0)
    return InterfaceOut(
        index=link.index, name=link.name, kind=link.kind, mac=link.mac.hex(":"), up=link.up,
        vlan_id=link.vlan_id, master=master.name if master else None, lower=lower.name if lower else None,
        addresses=[str(address) for address in link.addresses], served=why is None, why_not_served=why,
        requests=counters.requests, replies=counters.replies, drops=dict(counters.drops or {}),
    )
