"""Bearer-token check: a token is needed for every request that changes state, and for every request when
the API listens on a non-loopback address. With no token configured, the API is read-only."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
bearer = HTTPBearer(auto_error=False, description="the server's --api-token")


@dataclass(frozen=True)
class ApiAuth:
    token: str | None
    reads_need_token: bool = False


def _refuse(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Bearer"})


async def require_token(request: Request,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    auth: ApiAuth = request.app.state.auth
    if request.method in READ_METHODS and not auth.reads_need_token:
        return
    if auth.token is None:
        raise _refuse("no API token is configured (--api-token): the API is read-only")
    if credentials is None:
        raise _refuse("an Authorization: Bearer token is required")
    if not hmac.compare_digest(credentials.credentials.encode(), auth.token.encode()):
        raise _refuse("wrong token")
