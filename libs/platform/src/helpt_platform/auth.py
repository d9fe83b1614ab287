"""Bearer tokens (JWT) carrying role, tenant and organisation, and the FastAPI side of checking them.

Locally, tokens are HS256-signed with a secret file that `make run` and `make token` share
(`HELPT_JWT_SECRET_FILE`, default `.state/local/jwt.secret`, created on first use). In
production an OpenID Connect provider issues them: set `HELPT_OIDC_JWKS_URL` (and issuer,
audience) and the services verify RS256/ES256 signatures with the provider's published keys.

Issue one locally with `make token ROLE=screener` (see `helpt_platform.token`).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jwt

from helpt_contracts.roles import Role, Scope, ServiceName, scopes_for

__all__ = ["AUDIENCE", "AuthError", "Principal", "Refusal", "TokenVerifier", "issue_token", "local_secret"]

AUDIENCE = "helpt"
LOCAL_ISSUER = "helpt-local"
DEFAULT_SECRET_FILE = Path(".state/local/jwt.secret")


class Refusal(Exception):
    """A request refused with an HTTP status; the reason is safe to show, log and audit (no data)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class AuthError(Refusal):
    """A request that is not authenticated (401) or not allowed (403)."""


@dataclass(frozen=True)
class Principal:
    """Who calls: from a verified token."""

    sub: str
    role: Role
    tenant: str
    organisation: str | None = None

    @property
    def service(self) -> ServiceName | None:
        """The calling service, when the caller is one of Helpt's own services."""
        if self.role is not Role.SERVICE:
            return None
        try:
            return ServiceName(self.sub)
        except ValueError:
            return None

    def has(self, scope: Scope) -> bool:
        return scope in scopes_for(self.role)


def local_secret(path: Path | None = None) -> bytes:
    """The local signing secret, created (mode 0600) on first use."""
    path = path or Path(os.environ.get("HELPT_JWT_SECRET_FILE", DEFAULT_SECRET_FILE))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_bytes().strip()


def issue_token(
    secret: bytes, *, sub: str, role: Role, tenant: str, organisation: str | None = None, ttl: dt.timedelta = dt.timedelta(hours=8)
) -> str:
    """A locally signed token (development, tests, the local call-centre console)."""
    now = dt.datetime.now(dt.UTC)
    claims = {"iss": LOCAL_ISSUER, "aud": AUDIENCE, "sub": sub, "role": role.value, "tenant": tenant, "iat": now, "exp": now + ttl}
    if organisation:
        claims["org"] = organisation
    return jwt.encode(claims, secret, algorithm="HS256")


class TokenVerifier:
    """Checks bearer tokens: the local secret, or an OpenID Connect provider's published keys."""

    def __init__(self, *, secret: bytes | None = None, jwks_url: str | None = None, issuer: str | None = None,
                 service_secret: bytes | None = None, tenants: Iterable[str] | None = None) -> None:
        """`secret`: every token is local (development, tests). `jwks_url`: people's tokens come from the city's
        OpenID Connect provider; `service_secret` then still lets Helpt's own services call each other with
        locally signed tokens — only tokens whose role is `service`. `tenants`: the municipalities served."""
        if (secret is None) == (jwks_url is None):
            raise ValueError("give either a local secret or a JWKS URL")
        # The municipalities this deployment serves; a token of any other is refused (403). None: any.
        self._tenants = frozenset(tenants) if tenants is not None else None
        self._secret = secret
        self._service_secret = service_secret if jwks_url else None
        self._jwks = jwt.PyJWKClient(jwks_url) if jwks_url else None
        self._issuer = issuer or (LOCAL_ISSUER if secret else None)

    def verify(self, authorization: str | None) -> Principal:
        """The caller of a request with this Authorization header; `AuthError` (401) if none or invalid."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthError(401, "a bearer token is required")
        token = authorization[7:].strip()
        service_only = False
        try:
            if self._jwks is not None and self._service_secret is not None and jwt.get_unverified_header(token).get("alg") == "HS256":
                claims = jwt.decode(token, self._service_secret, algorithms=["HS256"], audience=AUDIENCE, issuer=LOCAL_ISSUER)
                service_only = True
            elif self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
                claims = jwt.decode(token, key, algorithms=["RS256", "ES256"], audience=AUDIENCE, issuer=self._issuer)
            else:
                claims = jwt.decode(token, self._secret, algorithms=["HS256"], audience=AUDIENCE, issuer=self._issuer)
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "the token has expired") from None
        except jwt.PyJWTError:
            raise AuthError(401, "the token is not valid") from None
        try:
            who = Principal(sub=str(claims["sub"]), role=Role(claims["role"]), tenant=str(claims["tenant"]), organisation=claims.get("org"))
        except (KeyError, ValueError):
            raise AuthError(401, "the token lacks role, tenant or subject") from None
        if service_only and who.role is not Role.SERVICE:
            raise AuthError(401, "people sign in through the city's identity provider")
        if self._tenants is not None and who.tenant not in self._tenants:
            raise AuthError(403, "this service does not serve the token's municipality")
        return who
