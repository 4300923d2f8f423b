"""The FastAPI application: routers under /api/v1, /metrics at the root, admin errors mapped to statuses."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse

from api import config, health, interfaces, leases, metrics, reservations, stats, subnets
from api.auth import ApiAuth, require_token
from dhcpd.admin import Admin, AdminError, Conflict, Invalid, NotFound

API_PREFIX = "/api/v1"
STATUS_OF_ERROR = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Invalid: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


async def admin_error(request: Request, error: AdminError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=STATUS_OF_ERROR.get(type(error), status.HTTP_409_CONFLICT))


def create_app(admin: Admin, auth: ApiAuth) -> FastAPI:
    app = FastAPI(title="dhcpd admin API", version="1", dependencies=[Depends(require_token)])
    app.state.admin = admin
    app.state.auth = auth
    app.add_exception_handler(AdminError, admin_error)
    for module in (leases, reservations, subnets, interfaces, stats, config, health):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(metrics.router)
    return app
