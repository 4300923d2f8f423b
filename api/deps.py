"""Dependencies of the routers: the admin facade and the running server behind it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dhcpd.admin import Admin


def get_admin(request: Request) -> Admin:
    return request.app.state.admin


def get_server(request: Request):
    """The running `dhcpd.server.Server` (its engine, store, stats, interface table)."""
    return request.app.state.admin.server


AdminDep = Annotated[Admin, Depends(get_admin)]
ServerDep = Annotated[object, Depends(get_server)]
