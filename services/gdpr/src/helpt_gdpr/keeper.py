"""Seal and reveal, with every attempt audited: the use cases behind gdpr's API."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from helpt_contracts.roles import ActionKind, Purpose, Scope
from helpt_contracts.sealed import PersonalField, SealedField
from helpt_gdpr.actions import Actions
from helpt_gdpr.audit import AuditLog
from helpt_gdpr.blind_index import NotNormalisable, blind_index, index_key, normalise_email, normalise_phone
from helpt_gdpr.crypto import SealBroken, open_field, seal_field
from helpt_gdpr.custody import KeyCustody, TenantUnavailable
from helpt_gdpr.policy import decide
from helpt_platform.auth import AuthError, Principal, Refusal

__all__ = ["Denied", "Keeper", "RevealAsk"]


class Denied(Refusal):
    """A seal, reveal, erasure or purge that gdpr refuses."""


@dataclass(frozen=True)
class RevealAsk:
    """One reveal: which subject's sealed fields, for what, in which action."""

    tenant: str
    subject_id: UUID
    purpose: Purpose
    action_kind: ActionKind
    action_id: UUID
    sealed: dict[PersonalField, SealedField]


class Keeper:
    """The only place personal data is sealed and opened."""

    def __init__(self, custody: KeyCustody, audit: AuditLog, actions: Actions, *, phone_region: str = "BE") -> None:
        self.phone_region = phone_region
        self.custody = custody
        self.audit = audit
        self.actions = actions

    async def seal(
        self, who: Principal, tenant: str, subject_id: UUID | None, fields: dict[PersonalField, str]
    ) -> tuple[UUID, dict[PersonalField, SealedField]]:
        """Seal a subject's fields (a new subject when `subject_id` is None)."""
        if who.tenant != tenant:
            raise Denied(403, "the token belongs to another tenant")
        if not who.has(Scope.GDPR_SEAL):
            raise Denied(403, f"role {who.role.value} may not seal")
        new = subject_id is None
        subject_id = subject_id or uuid4()
        try:
            kid, key = await self.custody.key_for_sealing(tenant, subject_id, new=new)
        except TenantUnavailable:
            raise Denied(410, "this tenant has no keys: unknown, or its data was destroyed") from None
        sealed = {f: seal_field(key, kid, tenant, subject_id, f, text) for f, text in fields.items()}
        await self.audit.append(
            tenant, "seal", "done", actor=who.sub, role=who.role.value, subject_id=subject_id,
            categories=sorted(f.value for f in fields),
        )
        return subject_id, sealed

    async def blind_indexes(
        self, who: Principal, tenant: str, phone: str | None, email: str | None
    ) -> tuple[str | None, str | None]:
        """Blind indexes of a phone number and an e-mail address (either may be None)."""
        if who.tenant != tenant:
            raise Denied(403, "the token belongs to another tenant")
        try:
            key = index_key(await self.custody.tenant_key(tenant), tenant)
            return (
                blind_index(key, "phone", normalise_phone(phone, self.phone_region)) if phone else None,
                blind_index(key, "email", normalise_email(email)) if email else None,
            )
        except TenantUnavailable:
            raise Denied(410, "this tenant has no keys: unknown, or its data was destroyed") from None
        except NotNormalisable as bad:
            raise Denied(422, str(bad)) from None

    async def reveal(self, who: Principal | AuthError, ask: RevealAsk) -> dict[PersonalField, str]:
        """Open the fields if policy allows; audit the attempt whatever its outcome."""
        try:
            opened = await self._reveal(who, ask)
        except Denied as denied:
            await self._audit_reveal(who, ask, "denied", denied.reason)
            denied.audited = True
            raise
        await self._audit_reveal(who, ask, "allowed", "allowed")
        return opened

    async def _reveal(self, who: Principal | AuthError, ask: RevealAsk) -> dict[PersonalField, str]:
        if isinstance(who, AuthError):
            raise Denied(who.status, who.reason)
        if who.tenant != ask.tenant:
            raise Denied(403, "the token belongs to another tenant")
        if not who.has(Scope.GDPR_REVEAL):
            raise Denied(403, f"role {who.role.value} may not reveal")
        facts = await self.actions.facts(ask.tenant, ask.action_kind, ask.action_id)
        decision = decide(who, ask.purpose, frozenset(ask.sealed), ask.subject_id, facts)
        if not decision.allowed:
            raise Denied(403, decision.reason)
        opened: dict[PersonalField, str] = {}
        keys: dict[str, bytes | None] = {}  # a subject's fields share one key: fetch and unwrap it once
        try:
            for field, sealed in ask.sealed.items():
                if sealed.kid not in keys:
                    keys[sealed.kid] = await self.custody.key_for_opening(ask.tenant, ask.subject_id, sealed.kid)
                key = keys[sealed.kid]
                if key is None:
                    raise Denied(410, "the subject's key was destroyed, or the field is not theirs")
                opened[field] = open_field(key, ask.tenant, ask.subject_id, field, sealed)
        except TenantUnavailable:
            raise Denied(410, "this tenant's keys were destroyed") from None
        except SealBroken as broken:
            raise Denied(422, str(broken)) from None
        return opened

    async def _audit_reveal(self, who: Principal | AuthError, ask: RevealAsk, result: str, reason: str) -> None:
        known = who if isinstance(who, Principal) else None
        await self.audit.append(
            ask.tenant, "reveal", result, reason=reason,
            actor=known.sub if known else None, role=known.role.value if known else None,
            organisation=known.organisation if known else None, token_tenant=known.tenant if known else None,
            subject_id=ask.subject_id, categories=sorted(f.value for f in ask.sealed), purpose=ask.purpose.value,
            action={"kind": ask.action_kind.value, "id": str(ask.action_id)},
        )
