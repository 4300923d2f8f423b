"""/api/v1/subnets: each declared subnet with its pool size and how much of it is used."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import AdminDep
from api.responses import json_array
from api.schemas import SubnetOut
from dhcpd.admin import SubnetUsage

router = APIRouter(tags=["subnets"])


def subnet_out(usage: SubnetUsage) -> SubnetOut:
    shared = usage.subnet.shared_network
    return SubnetOut(id=usage.subnet.id, shared_network=shared.name if shared is not None else None,
                     size=usage.size, used=usage.used, free=usage.free, declined=usage.declined,
                     utilisation=usage.utilisation)


@router.get("/subnets", response_model=list[SubnetOut])
async def list_subnets(admin: AdminDep) -> Response:
    return json_array(map(subnet_out, await admin.subnet_usage()))
