"""/api/v1/config: the effective configuration as JSON, checking a dhcpd.conf text, and reloading the file."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse

from api.deps import ServerDep
from api.schemas import ConfigCheck, Problem
from dhcpd.config.errors import ConfigError
from dhcpd.config.model import Config, Scope
from dhcpd.config.parser import parse_text
from dhcpd.wire.options import OPTION_NAMES

router = APIRouter(tags=["config"])
MAX_CONFIG_BYTES = 64 * 1024 * 1024


def plain(value: Any) -> Any:
    """A JSON-ready copy of a parameter value."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, bytes):
        return value.hex(":")
    return str(value)


def scope_json(scope: Scope) -> dict[str, Any]:
    return {
        "params": {name: plain(value) for name, value in scope.params.items()},
        "options": {OPTION_NAMES.get(code, str(code)): value.hex(":") for code, value in scope.options.items()},
    }


def config_json(config: Config) -> dict[str, Any]:
    return {
        "source": config.source,
        "global": scope_json(config.root),
        "shared_networks": [{"name": shared.name, "subnets": [s.id for s in shared.subnets], **scope_json(shared)}
                            for shared in config.shared_networks],
        "subnets": [{
            "id": subnet.id,
            "pools": [{"ranges": [[str(r.first), str(r.last)] for r in pool.ranges],
                       "permits": [[verdict, plain(what)] for verdict, what in pool.permits], **scope_json(pool)}
                      for pool in subnet.pools],
            **scope_json(subnet),
        } for subnet in config.subnets],
        "hosts": [{"name": host.name, "mac": plain(host.hardware), "client_id": plain(host.client_id),
                   "fixed_addresses": [str(a) for a in host.fixed_addresses], **scope_json(host)}
                  for host in config.hosts],
        "notes": list(config.notes),
    }


def check_result(error: ConfigError | None, notes: list[str]) -> ConfigCheck:
    problems = [] if error is None else [Problem(file=p.file, line=p.line, message=p.message) for p in error.problems]
    return ConfigCheck(ok=error is None, problems=problems, notes=notes)


def parse_for_check(text: str) -> ConfigCheck:
    try:
        config = parse_text(text, "<request>")
    except ConfigError as error:
        return check_result(error, [])
    return check_result(None, list(config.notes))


@router.get("/config")
async def get_config(server: ServerDep) -> dict[str, Any]:
    """The configuration the server runs with now."""
    return config_json(server.engine.config)


@router.post("/config/test", response_model=ConfigCheck, openapi_extra={
    "requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def test_config(request: Request) -> ConfigCheck:
    """Check the dhcpd.conf text in the body (text/plain); problems come back with their line numbers."""
    body = await request.body()
    if len(body) > MAX_CONFIG_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "configuration too large")
    text = body.decode("utf-8", errors="surrogateescape")
    return await asyncio.to_thread(parse_for_check, text)


@router.post("/config/reload", response_model=ConfigCheck,
             responses={422: {"model": ConfigCheck, "description": "not reloaded: the file has problems"}})
async def reload_config(server: ServerDep) -> ConfigCheck | JSONResponse:
    """Re-read the configuration file, as SIGHUP does; on problems the old configuration stays."""
    result = check_result(server.reload(), list(server.engine.config.notes))
    if not result.ok:
        return JSONResponse(result.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return result
