"""/api/v1/leases: list with filters and a cursor, read, add, replace, delete; and wiping a subnet's leases."""

from __future__ import annotations

import time
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import AdminDep
from api.schemas import Deleted, LeaseChange, LeaseOut, LeasePage, LeaseQuery, NewLease, to_bytes
from dhcpd.leases.store import LeaseFilter

router = APIRouter(tags=["leases"])


@router.get("/leases", response_model=LeasePage)
async def list_leases(admin: AdminDep, query: Annotated[LeaseQuery, Query()]) -> LeasePage:
    """Leases in address order; pass `next_cursor` back as `cursor` for the next page."""
    filters = LeaseFilter(
        mac=to_bytes(query.mac), client_id=to_bytes(query.client_id), hostname=query.hostname,
        interface=query.interface, vlan=query.vlan, subnet=None if query.subnet is None else str(query.subnet),
        state=query.state,
    )
    leases = await admin.leases(query.cursor, query.limit, filters)
    next_cursor = str(leases[-1].ip) if len(leases) == query.limit else None
    return LeasePage(leases=[LeaseOut.of(lease) for lease in leases], next_cursor=next_cursor)


@router.get("/leases/{ip}", response_model=LeaseOut)
async def get_lease(admin: AdminDep, ip: IPv4Address) -> LeaseOut:
    return LeaseOut.of(await admin.lease(ip))


@router.post("/leases", response_model=LeaseOut, status_code=status.HTTP_201_CREATED)
async def add_lease(admin: AdminDep, body: NewLease) -> LeaseOut:
    """Add a lease for an address that is free; 409 while anyone holds it."""
    return LeaseOut.of(await admin.add_lease(body.to_lease(body.ip, time.time())))


@router.put("/leases/{ip}", response_model=LeaseOut)
async def replace_lease(admin: AdminDep, ip: IPv4Address, body: LeaseChange) -> LeaseOut:
    return LeaseOut.of(await admin.replace_lease(body.to_lease(ip, time.time())))


@router.delete("/leases/{ip}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_lease(admin: AdminDep, ip: IPv4Address) -> None:
    """Delete the lease; the address is free for the next DISCOVER at once."""
    await admin.delete_lease(ip)


@router.delete("/subnets/{subnet_id:path}/leases", response_model=Deleted, tags=["subnets"])
async def wipe_subnet(admin: AdminDep, subnet_id: str) -> Deleted:
    """Delete every lease of a subnet; `subnet_id` is its network, e.g. 10.0.0.0/24."""
    try:
        network = IPv4Network(subnet_id)
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"subnet id: {error}") from None
    return Deleted(deleted=await admin.wipe_subnet(network))
