"""The vacancy catalogue over HTTP: the published vacancies for everyone; draft, preview and publish for coordinators."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request

from helpt_contracts.roles import Scope
from helpt_intake.catalogue import Catalogue, CatalogueStore
from helpt_intake.tenancy import tenant_of
from helpt_platform.auth import AuthError, Principal, Refusal

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["catalogue"])
Lang = Annotated[str, Query(min_length=2, max_length=3, description="Language of the texts: nl, en, fr, …")]
Tenant = Annotated[str | None, Query(max_length=63, description="Municipality; the default one if left out.")]
MAX_DRAFT = 512 * 1024
EDITING = {401: {"description": "No valid token"}, 403: {"description": "Not a coordinator"}}


async def catalogues(request: Request) -> CatalogueStore:
    return request.app.state.catalogues()


def coordinator(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The caller, if a valid token grants catalogue:edit; the tenant edited is the token's."""
    who = request.app.state.token_verifier().verify(authorization)
    if not who.has(Scope.CATALOGUE_EDIT):
        raise AuthError(403, f"role {who.role.value} lacks {Scope.CATALOGUE_EDIT.value}")
    return who


Store = Annotated[CatalogueStore, Depends(catalogues)]
Editor = Annotated[Principal, Depends(coordinator)]


def _shown(catalogue: Catalogue) -> dict[str, Any]:
    return {"version": catalogue.version, **catalogue.content()}


async def _draft(store: CatalogueStore, tenant: str) -> Catalogue:
    draft = await store.draft(tenant)
    if draft is None:
        raise Refusal(404, "there is no draft; save one with PUT /api/v1/catalogue/draft")
    return draft


@router.get("/vacancies", summary="The published vacancies, in one language",
            responses={422: {"description": "Unknown language or municipality"}})
async def vacancies(request: Request, store: Store, lang: Lang = "nl", tenant: Tenant = None) -> list[dict]:
    catalogue = await store.published(tenant or tenant_of(request))
    return catalogue.listing(lang)


@router.get("/catalogue/draft", summary="The draft catalogue, numbered as the version it will become",
            responses={**EDITING, 404: {"description": "No draft"}})
async def get_draft(who: Editor, store: Store) -> dict[str, Any]:
    return _shown(await _draft(store, who.tenant))


async def _json_body(request: Request, limit: int = MAX_DRAFT) -> Any:
    # Read only after the token was checked, and only so much: no one can make us hold a huge body.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise Refusal(415, "send JSON (Content-Type: application/json)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Refusal(413, f"the catalogue must be at most {limit // 1024} KB")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's parser goes
        raise Refusal(422, "the body is not valid JSON") from None


@router.put("/catalogue/draft", summary="Save the whole catalogue as the draft; the live one does not change",
            responses={**EDITING, 413: {"description": "Too large"}, 422: {"description": "Incomplete: which vacancy lacks which text"}},
            openapi_extra={"requestBody": {"required": True, "description": (
                "The whole catalogue, as GET /api/v1/catalogue/versions/{n} shows it: languages, and vacancies with code, "
                "collective, visit, requirements (min_age, competences) and texts (title, summary, asks, material, "
                "profile) in every language."), "content": {"application/json": {"schema": {"type": "object"}}}}})
async def put_draft(who: Editor, store: Store, request: Request) -> dict[str, Any]:
    return _shown(await store.save_draft(who.tenant, await _json_body(request), who.sub))


@router.delete("/catalogue/draft", status_code=204, summary="Throw the draft away", responses=EDITING)
async def delete_draft(who: Editor, store: Store) -> None:
    await store.discard_draft(who.tenant)


@router.get("/catalogue/draft/vacancies", summary="Preview: the draft's vacancies, as /vacancies will show them",
            responses={**EDITING, 404: {"description": "No draft"}, 422: {"description": "Unknown language"}})
async def preview(who: Editor, store: Store, lang: Lang = "nl") -> list[dict]:
    return (await _draft(store, who.tenant)).listing(lang)


@router.post("/catalogue/publish", summary="Publish the draft as the next version (send {})",
             responses={**EDITING, 409: {"description": "No draft, or someone published first"}})
async def publish(who: Editor, store: Store, _: Annotated[Any, Body()] = None) -> dict[str, Any]:
    catalogue = await store.publish(who.tenant, who.sub)
    return {"version": catalogue.version}


@router.get("/catalogue/versions", summary="Every published version, newest first", responses=EDITING)
async def versions(who: Editor, store: Store) -> list[dict[str, Any]]:
    return [{"version": v, "published_at": at.isoformat(), "editor": editor} for v, at, editor in await store.history(who.tenant)]


@router.get("/catalogue/versions/{version}", summary="One published version, whole",
            responses={**EDITING, 404: {"description": "No such version"}})
async def version(who: Editor, store: Store, version: int) -> dict[str, Any]:
    catalogue = await store.version(who.tenant, version)
    if catalogue is None:
        raise Refusal(404, f"there is no version {version}")
    return _shown(catalogue)
