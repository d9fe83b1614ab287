"""With the city's OpenID Connect provider: people's tokens come from it, and Helpt's services still call each other.

A provider is stood in for by a local JWKS endpoint serving an RSA key; the tokens are real RS256 JWTs.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from helpt_contracts.roles import Role
from helpt_platform.auth import AUDIENCE, AuthError, TokenVerifier, issue_token

ISSUER = "https://login.leuven.example/realms/helpt"
SERVICE_SECRET = b"s" * 48


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[str, object]]:
    """(JWKS URL, private key) of a stand-in identity provider."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/keys", key
    server.shutdown()


def person(key, role: str = "coordinator", issuer: str = ISSUER) -> str:
    now = dt.datetime.now(dt.UTC)
    return jwt.encode({"iss": issuer, "aud": AUDIENCE, "sub": "anna", "role": role, "tenant": "leuven", "iat": now,
                       "exp": now + dt.timedelta(hours=1)}, key, algorithm="RS256", headers={"kid": "k1"})


def test_a_person_signs_in_through_the_provider_and_services_still_reach_each_other(provider):
    url, key = provider
    verifier = TokenVerifier(jwks_url=url, issuer=ISSUER, service_secret=SERVICE_SECRET)
    who = verifier.verify(f"Bearer {person(key)}")
    assert (who.sub, who.role, who.tenant) == ("anna", Role.COORDINATOR, "leuven")
    service = issue_token(SERVICE_SECRET, sub="matching", role=Role.SERVICE, tenant="leuven")
    assert verifier.verify(f"Bearer {service}").service is not None, "matching's call to gdpr is accepted"


def test_a_locally_signed_token_for_a_person_is_refused_once_the_city_signs_people_in(provider):
    url, key = provider
    verifier = TokenVerifier(jwks_url=url, issuer=ISSUER, service_secret=SERVICE_SECRET)
    forged = issue_token(SERVICE_SECRET, sub="mallory", role=Role.DPO, tenant="leuven")
    with pytest.raises(AuthError) as refused:
        verifier.verify(f"Bearer {forged}")
    assert refused.value.status == 401 and "identity provider" in refused.value.reason
    other = issue_token(b"x" * 48, sub="matching", role=Role.SERVICE, tenant="leuven")
    with pytest.raises(AuthError):
        verifier.verify(f"Bearer {other}")
    with pytest.raises(AuthError):
        verifier.verify(f"Bearer {person(key, issuer='https://elsewhere.example')}")
    no_services = TokenVerifier(jwks_url=url, issuer=ISSUER)
    with pytest.raises(AuthError):
        no_services.verify(f"Bearer {issue_token(SERVICE_SECRET, sub='matching', role=Role.SERVICE, tenant='leuven')}")
