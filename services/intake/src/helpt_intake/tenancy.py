"""Which municipality a request is for: the path prefix `/t/<tenant>/`, else the Host header as the
tenant profiles map it, else the deployment's default municipality (docs/adr/0015).

A pure ASGI middleware, outermost, so every route, page and inner middleware sees the address
without the prefix and never needs a second copy of its routes. Routes read the answer with
`tenant_of(request)`; pages put `base_of(request)` in front of every link they make.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from helpt_platform.tenants import TenantProfile

__all__ = ["PREFIX", "TenantResolver", "base_of", "profile_of", "sign_in_as", "tenant_of"]

PREFIX = "/t/"
_TENANT, _BASE, _UNKNOWN = "helpt.tenant", "helpt.base", "helpt.unknown_tenant"


class TenantResolver:
    """Puts the request's municipality in its scope; an unknown one in the path gets `unknown(request)`: a 404."""

    def __init__(self, app: ASGIApp, *, settings: Any, unknown: Callable[[Request], Response]) -> None:
        self.app, self.settings, self.unknown = app, settings, unknown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path: str = scope["path"]
        if path.startswith(PREFIX):
            tenant, _, rest = path[len(PREFIX):].partition("/")
            base = PREFIX + tenant
            scope = {**scope, "path": "/" + rest, "raw_path": ("/" + rest).encode(), _BASE: base}
            if tenant not in self.settings.tenant_ids:
                scope |= {_UNKNOWN: tenant, _BASE: ""}  # its links lead to the default municipality's pages, which exist
                response = (JSONResponse({"detail": f"unknown municipality: {tenant}"}, status_code=404)
                            if rest.startswith("api/") else self.unknown(Request(scope)))
                return await response(scope, receive, send)
        else:
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
            tenant = self.settings.tenant_profiles().for_host(host) or self.settings.default_tenant
            scope = {**scope, _BASE: ""}
        scope[_TENANT] = tenant
        await self.app(scope, receive, send)


def tenant_of(request: Request) -> str:
    """The municipality this request is for (staff pages: the signed-in person's)."""
    return request.scope.get(_TENANT) or request.app.state.settings.default_tenant


def base_of(request: Request) -> str:
    """What goes before every address on the page: `/t/<tenant>` when the request came that way, else nothing."""
    return request.scope.get(_BASE, "")


def profile_of(request: Request, tenant: str | None = None) -> TenantProfile:
    """The profile of `tenant`, or of the request's municipality (the default one's for an unknown municipality)."""
    settings = request.app.state.settings
    profiles = settings.tenant_profiles()
    return profiles.get(tenant or tenant_of(request)) or profiles[settings.default_tenant]


def sign_in_as(request: Request, tenant: str) -> None:
    """From here on the request is the signed-in staff member's municipality's, whatever its address says."""
    request.scope[_TENANT] = tenant
