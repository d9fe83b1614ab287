"""Matching's statistics API for coordinators: the seeds' table (vacancy × language) and how matching goes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from helpt_contracts.roles import Scope
from helpt_platform.auth import AuthError, Refusal
from helpt_matching.stats import StatsReport

__all__ = ["router"]

router = APIRouter()


@router.get("/api/v1/stats", tags=["coordinator"], response_model=StatsReport, response_model_by_alias=True,
            responses={401: {"description": "No valid token"},
                       403: {"description": "Not allowed to see this municipality's statistics"},
                       422: {"description": "A day that is not YYYY-MM-DD, `from` after `to`, or `idle_days` out of 1..365"}},
            summary="Offers and requests per vacancy, language, channel and day; time to match; share matched; idle volunteers")
async def stats(request: Request, authorization: Annotated[str | None, Header()] = None,
                start: Annotated[dt.date | None, Query(alias="from", description="First day (UTC, YYYY-MM-DD) counted.")] = None,
                end: Annotated[dt.date | None, Query(alias="to", description="Last day (UTC, YYYY-MM-DD) counted.")] = None,
                idle_days: Annotated[int, Query(ge=1, le=365, description="A volunteer not offered a task for this long is idle.")] = 7,
                ) -> dict[str, Any]:
    who = request.app.state.token_verifier().verify(authorization)
    if not who.has(Scope.MATCHING_STATISTICS):
        raise AuthError(403, f"role {who.role.value} may not see the statistics")
    if who.tenant not in request.app.state.settings.tenant_ids:
        raise AuthError(403, "this service does not serve the token's municipality")
    if start and end and start > end:
        raise Refusal(422, "`from` is after `to`")
    report = await request.app.state.statistics().report(who.tenant, start=start, end=end, idle_days=idle_days)
    return report.model_dump(mode="json", by_alias=True)
