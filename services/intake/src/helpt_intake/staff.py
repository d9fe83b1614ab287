"""Who calls intake: nobody (a citizen's own form) or the holder of a bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from helpt_contracts.roles import Scope
from helpt_platform.auth import AuthError, Principal

__all__ = ["Caller", "caller", "require"]


async def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal | None:
    """The verified caller; None without an Authorization header; 401 for a bad or expired token."""
    if authorization is None:
        return None
    return request.app.state.token_verifier().verify(authorization)


def require(who: Principal | None, scope: Scope) -> Principal:
    """The caller, if it holds `scope`: 401 without a token, 403 for a role without it."""
    if who is None:
        raise AuthError(401, "a bearer token is required")
    if not who.has(scope):
        raise AuthError(403, f"role {who.role.value} lacks {scope.value}")
    return who


Caller = Annotated[Principal | None, Depends(caller)]
