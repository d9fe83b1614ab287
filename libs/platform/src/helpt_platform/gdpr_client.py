"""How services talk to gdpr: seal, reveal and blind indexes over its internal HTTP API.

A service never holds a key. When gdpr cannot be reached, every call raises `GdprUnavailable`
(a 503 Refusal): the caller must then store nothing and tell its user so, never fall back to
keeping plaintext.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx

from helpt_contracts.roles import ActionKind, Purpose
from helpt_contracts.sealed import PersonalField, SealedField
from helpt_platform.auth import Refusal

__all__ = ["GdprClient", "GdprUnavailable"]


class GdprUnavailable(Refusal):
    """gdpr did not answer: nothing was sealed or revealed."""

    def __init__(self) -> None:
        super().__init__(503, "the privacy service is unavailable; nothing was stored, please try again shortly")


class GdprClient:
    """An async client of gdpr's API, authenticated as one of Helpt's services (`token(tenant)` gives its token)."""

    def __init__(self, base_url: str, token: Callable[[str], str], *, timeout_s: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)
        self._token = token

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        # A token per call, for the tenant the call is about: one intake serves several municipalities.
        try:
            answer = await self._http.post(path, json=body, headers={"Authorization": f"Bearer {self._token(body['tenant'])}"})
        except httpx.HTTPError:
            raise GdprUnavailable() from None
        if answer.status_code >= 500:
            raise GdprUnavailable()
        if answer.status_code >= 400:
            detail = answer.json().get("detail") if answer.headers.get("content-type", "").startswith("application/json") else None
            raise Refusal(answer.status_code, detail if isinstance(detail, str) else "gdpr refused the request")
        return answer.json()

    async def seal(
        self, tenant: str, fields: dict[PersonalField, str], subject_id: UUID | None = None
    ) -> tuple[UUID, dict[PersonalField, SealedField]]:
        """Seal a subject's fields; a new subject when `subject_id` is None."""
        subject_id, sealed, _ = await self._seal(tenant, fields, subject_id, index=False)
        return subject_id, sealed

    async def seal_and_index(
        self, tenant: str, fields: dict[PersonalField, str], subject_id: UUID | None = None
    ) -> tuple[UUID, dict[PersonalField, SealedField], dict[str, str | None]]:
        """`seal`, and the blind indexes of its phone and e-mail fields (as `blind_indexes`), in one call.

        A field that is not a phone number or e-mail address is refused (422) and nothing is sealed."""
        return await self._seal(tenant, fields, subject_id, index=True)

    async def _seal(self, tenant: str, fields: dict[PersonalField, str], subject_id: UUID | None,
                    *, index: bool) -> tuple[UUID, dict[PersonalField, SealedField], dict[str, str | None]]:
        body: dict[str, Any] = {"tenant": tenant, "fields": {f.value: v for f, v in fields.items()}}
        if subject_id:
            body["subject_id"] = str(subject_id)
        if index:
            body["index"] = True
        answer = await self._post("/api/v1/seal", body)
        sealed = {PersonalField(f): SealedField(**v) for f, v in answer["sealed"].items()}
        return UUID(answer["subject_id"]), sealed, answer.get("index") or {}

    async def reveal(
        self, tenant: str, subject_id: UUID, purpose: Purpose, action: tuple[ActionKind, UUID],
        sealed: dict[PersonalField, SealedField],
    ) -> dict[PersonalField, str]:
        """Open sealed fields for a purpose and an action; `Refusal` (403, 410, 422) if gdpr says no."""
        answer = await self._post("/api/v1/reveal", {
            "tenant": tenant, "subject_id": str(subject_id), "purpose": purpose.value,
            "action": {"kind": action[0].value, "id": str(action[1])},
            "sealed": {f.value: s.model_dump() for f, s in sealed.items()},
        })
        return {PersonalField(f): v for f, v in answer["fields"].items()}

    async def blind_indexes(self, tenant: str, *, phone: str | None = None, email: str | None = None) -> dict[str, str | None]:
        """Keyed hashes of a phone number and an e-mail address, to find earlier contacts."""
        return await self._post("/api/v1/blind-index", {"tenant": tenant, "phone": phone, "email": email})
