"""Authorisation at every door, table-driven: every route of every service × every role, and the tokens that must fail.

The table is checked against the apps' own routes (`app.routes`): a route that is added without a
row here fails `test_every_route_has_a_row`, so no endpoint can be forgotten. Each row says who may
pass the door; the rest must be refused with 401 or 403 (a staff page refuses by sending the
browser to its sign-in page). "Allowed" means the caller got past authorisation: any answer but
401/403 and the sign-in redirect (a 404 for an unknown case is an allowed caller's answer).

Besides the roles: no token, an expired token, a token signed with another key, and a token of a
municipality this deployment does not serve — all four refused wherever a role is needed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from helpt_contracts.events import MatchAccepted, MatchCompleted
from helpt_contracts.examples import help_requested
from helpt_contracts.roles import Role
from helpt_platform.testing import eventually

pytestmark = pytest.mark.infra

ALL = frozenset(Role)
PUBLIC = "public"  # anyone, token or not
STAFF_COOKIES = ("helpt_staff_token", "helpt_operator_token", "helpt_coordinator_token", "helpt_screener_token")
C, O, S, CO, P, V, D, L, SV = (Role.CITIZEN, Role.OPERATOR, Role.SCREENER, Role.COORDINATOR, Role.PARTNER, Role.VOLUNTEER,
                               Role.DPO, Role.CRISIS_LEAD, Role.SERVICE)
GDPR_REVEALERS = frozenset({O, S, CO, P, V, D, SV})

# (service, method, path) → who may pass: PUBLIC, or the roles allowed (an empty set: nobody, e.g. a reveal
# whose action does not exist is refused to every role — the reveals that are allowed are tested below).
TABLE: dict[tuple[str, str, str], Any] = {
    # intake: the public forms and API take submissions without a token (a token names the channel)
    ("intake", "POST", "/api/v1/help-requests"): PUBLIC,
    ("intake", "POST", "/api/v1/volunteers"): PUBLIC,
    # the operators, and a partner for its own organisation's requests (an unknown id: 404 for both)
    ("intake", "POST", "/api/v1/help-requests/{request_id}/cancel"): {O, P},
    ("intake", "POST", "/api/v1/volunteers/{volunteer_id}/withdraw"): {O, P},
    ("intake", "PATCH", "/api/v1/help-requests/{request_id}"): {O, P},
    ("intake", "PATCH", "/api/v1/volunteers/{volunteer_id}"): {O, P},
    ("intake", "GET", "/api/v1/vacancies"): PUBLIC,
    ("intake", "GET", "/api/v1/catalogue/draft"): {CO},
    ("intake", "PUT", "/api/v1/catalogue/draft"): {CO},
    ("intake", "DELETE", "/api/v1/catalogue/draft"): {CO},
    ("intake", "GET", "/api/v1/catalogue/draft/vacancies"): {CO},
    ("intake", "POST", "/api/v1/catalogue/publish"): {CO},
    ("intake", "GET", "/api/v1/catalogue/versions"): {CO},
    ("intake", "GET", "/api/v1/catalogue/versions/{version}"): {CO},
    ("intake", "GET", "/api/v1/mail"): {O},
    ("intake", "POST", "/api/v1/mail/{mail_id}/open"): {O},
    ("intake", "POST", "/api/v1/mail/{mail_id}/help-request"): {O},
    ("intake", "POST", "/api/v1/mail/{mail_id}/volunteer"): {O},
    ("intake", "POST", "/api/v1/mail/{mail_id}/discard"): {O},
    ("intake", "POST", "/api/v1/console/search"): {O},
    ("intake", "GET", "/api/v1/console/my-cases"): {O},
    ("intake", "GET", "/api/v1/console/call-backs"): {O},
    ("intake", "GET", "/{lang}/console/"): {O},
    ("intake", "GET", "/{lang}/console"): PUBLIC,  # a redirect to /{lang}/console/
    ("intake", "GET", "/{lang}/console/sign-in"): PUBLIC,
    ("intake", "POST", "/{lang}/console/sign-in"): {O, CO},
    ("intake", "POST", "/{lang}/console/sign-out"): PUBLIC,
    ("intake", "POST", "/{lang}/console/help"): {O},
    ("intake", "GET", "/{lang}/console/help"): {O},
    ("intake", "POST", "/{lang}/console/offer"): {O},
    ("intake", "GET", "/{lang}/console/offer"): {O},
    ("intake", "GET", "/{lang}/console/received/{reference}"): {O},
    ("intake", "GET", "/{lang}/console/search"): {O},
    ("intake", "POST", "/{lang}/console/search"): {O},
    ("intake", "GET", "/{lang}/console/my-cases"): {O},
    ("intake", "GET", "/{lang}/console/call-backs"): {O},
    ("intake", "GET", "/{lang}/console/mail"): {O},
    ("intake", "GET", "/{lang}/console/mail/{mail_id}"): {O},
    ("intake", "POST", "/{lang}/console/mail/{mail_id}/help"): {O},
    ("intake", "GET", "/{lang}/console/mail/{mail_id}/help"): {O},
    ("intake", "POST", "/{lang}/console/mail/{mail_id}/offer"): {O},
    ("intake", "GET", "/{lang}/console/mail/{mail_id}/offer"): {O},
    ("intake", "POST", "/{lang}/console/mail/{mail_id}/discard"): {O},
    ("intake", "GET", "/{lang}/console/case/{case_id}"): {O},
    ("intake", "POST", "/{lang}/console/case/{case_id}/close"): {O},
    ("intake", "GET", "/{lang}/preview/"): {CO},
    ("intake", "GET", "/{lang}/preview/offer/{code}"): {CO},
    ("intake", "POST", "/{lang}/preview/publish"): {CO},
    ("intake", "GET", "/"): PUBLIC,
    ("intake", "GET", "/{lang}/"): PUBLIC,
    ("intake", "GET", "/{lang}"): PUBLIC,
    ("intake", "GET", "/{lang}/privacy"): PUBLIC,
    ("intake", "GET", "/{lang}/accessibility"): PUBLIC,
    ("intake", "GET", "/{lang}/offer/{code}"): PUBLIC,
    ("intake", "POST", "/{lang}/offer/{code}"): PUBLIC,
    ("intake", "GET", "/{lang}/help"): PUBLIC,
    ("intake", "POST", "/{lang}/help"): PUBLIC,
    ("intake", "GET", "/{lang}/received/{reference}"): PUBLIC,
    ("intake", "GET", "/{lang}/{rest:path}"): PUBLIC,
    # screening: screeners only; the guidelines link is the volunteer's signed link
    ("screening", "GET", "/api/v1/screening/queue"): {S},
    ("screening", "GET", "/api/v1/screening/cases/{case_id}"): {S},
    ("screening", "POST", "/api/v1/screening/cases/{case_id}/reveal"): {S},
    ("screening", "POST", "/api/v1/screening/cases/{case_id}/decision"): {S},
    ("screening", "POST", "/api/v1/screening/cases/{case_id}/suspend"): {S},
    ("screening", "POST", "/api/v1/screening/cases/{case_id}/reverse"): {S},
    ("screening", "GET", "/guidelines/{token}"): PUBLIC,
    ("screening", "POST", "/guidelines/{token}"): PUBLIC,
    ("screening", "GET", "/{lang}/screening"): PUBLIC,  # a redirect to /{lang}/screening/
    ("screening", "GET", "/{lang}/screening/sign-in"): PUBLIC,
    ("screening", "POST", "/{lang}/screening/sign-in"): {S},
    ("screening", "POST", "/{lang}/screening/sign-out"): PUBLIC,
    ("screening", "GET", "/{lang}/screening/"): {S},
    ("screening", "GET", "/{lang}/screening/cases/{raw_id}"): {S},
    ("screening", "POST", "/{lang}/screening/cases/{raw_id}/reveal"): {S},
    ("screening", "POST", "/{lang}/screening/cases/{raw_id}/{kind}"): {S},
    ("screening", "GET", "/{lang}/screening/{rest:path}"): PUBLIC,  # a 404 page
    # matching: the volunteer's offer link is signed; the back office is the coordinators'; needs are partners' and coordinators'
    # the signed link is the credential: a link that is not signed is refused to everyone (403)
    ("matching", "GET", "/m/{token}"): set(),
    ("matching", "POST", "/m/{token}"): set(),
    ("matching", "GET", "/api/v1/matching/requests/{request_id}/offers"): {CO},
    ("matching", "POST", "/api/v1/matching/needs"): {P, CO},
    ("matching", "GET", "/api/v1/matching/needs/{need_id}"): {P, CO},
    ("matching", "GET", "/api/v1/matching/backoffice/requests"): {CO},
    ("matching", "GET", "/api/v1/matching/backoffice/requests/stale"): {CO},
    ("matching", "GET", "/api/v1/matching/backoffice/requests/{request_id}"): {CO},
    ("matching", "GET", "/api/v1/matching/backoffice/pools"): {CO},
    ("matching", "GET", "/api/v1/matching/backoffice/volunteers/idle"): {CO},
    ("matching", "GET", "/api/v1/matching/backoffice/partners"): {CO},
    ("matching", "POST", "/api/v1/matching/backoffice/requests/{request_id}/match"): {CO},
    ("matching", "POST", "/api/v1/matching/backoffice/matches/{match_id}/override"): {CO},
    ("matching", "POST", "/api/v1/matching/backoffice/volunteers/{volunteer_id}/still-needed"): {CO},
    ("matching", "POST", "/api/v1/matching/backoffice/requests/{request_id}/remind"): {CO},
    ("matching", "GET", "/{lang}/backoffice"): PUBLIC,  # a redirect to /{lang}/backoffice/
    ("matching", "GET", "/{lang}/backoffice/sign-in"): PUBLIC,
    ("matching", "POST", "/{lang}/backoffice/sign-in"): {CO},
    ("matching", "POST", "/{lang}/backoffice/sign-out"): PUBLIC,
    ("matching", "GET", "/{lang}/backoffice/"): {CO},
    ("matching", "GET", "/{lang}/backoffice/requests"): {CO},
    ("matching", "GET", "/{lang}/backoffice/stale"): {CO},
    ("matching", "GET", "/{lang}/backoffice/requests/{raw_id}"): {CO},
    ("matching", "POST", "/{lang}/backoffice/requests/{raw_id}/{kind}"): {CO},
    ("matching", "GET", "/{lang}/backoffice/pools"): {CO},
    ("matching", "GET", "/{lang}/backoffice/statistics"): {CO},
    ("matching", "GET", "/api/v1/stats"): {CO, L},
    ("matching", "GET", "/{lang}/backoffice/idle"): {CO},
    ("matching", "POST", "/{lang}/backoffice/volunteers/{raw_id}/still-needed"): {CO},
    ("matching", "GET", "/{lang}/backoffice/partners"): {CO},
    ("matching", "GET", "/{lang}/backoffice/{rest:path}"): {CO},  # a 404 page, for a signed-in coordinator
    ("matching", "POST", "/{lang}/backoffice/{rest:path}"): {CO},
    # gdpr: seal and blind index for services; reveal decided per action by the policy (none here: no such action)
    ("gdpr", "POST", "/api/v1/seal"): {SV},
    ("gdpr", "POST", "/api/v1/seal/batch"): {SV},
    ("gdpr", "POST", "/api/v1/reveal"): set(),
    ("gdpr", "POST", "/api/v1/reveal/batch"): GDPR_REVEALERS,  # 200 with each item's own outcome inside
    ("gdpr", "POST", "/api/v1/blind-index"): {SV},
    ("gdpr", "POST", "/api/v1/subjects/{subject_id}/erasure"): {D},
    ("gdpr", "POST", "/api/v1/subjects/{subject_id}/access"): {D},
    ("gdpr", "GET", "/api/v1/subject-access/{access_id}"): {D},
    ("gdpr", "POST", "/api/v1/crisis-end/approvals"): {L},
    ("gdpr", "GET", "/api/v1/purges/{purge_id}"): {D, L},
    ("gdpr", "GET", "/api/v1/audit"): {D},
    ("gdpr", "GET", "/api/v1/audit/verify"): {D},
    ("gdpr", "GET", "/dpo"): PUBLIC,  # a redirect to /dpo/audit
    ("gdpr", "GET", "/dpo/sign-in"): PUBLIC,
    ("gdpr", "POST", "/dpo/sign-in"): {D},
    ("gdpr", "POST", "/dpo/sign-out"): PUBLIC,
    ("gdpr", "GET", "/dpo/audit"): {D},
}
# Every service: health, readiness and its API documents are public.
for _service in ("intake", "screening", "matching", "gdpr"):
    for _path in ("/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"):
        TABLE[(_service, "GET", _path)] = PUBLIC
        if _path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"):
            TABLE[(_service, "HEAD", _path)] = PUBLIC

# A sign-in form posted without a token is answered 400 ("enter your token"): not a refusal, a form to fill in.
ANONYMOUS_ANSWERED = {("intake", "POST", "/{lang}/console/sign-in"), ("screening", "POST", "/{lang}/screening/sign-in"),
                      ("matching", "POST", "/{lang}/backoffice/sign-in"), ("gdpr", "POST", "/dpo/sign-in")}
BAD_TOKENS = ("expired token", "badly signed token", "other-tenant token")

# Requests that change state in a way later rows would notice are not sent with an allowed role
# (an approved crisis end would purge the tenant); their refusals are still checked.
NOT_SENT_ALLOWED = {("gdpr", "POST", "/api/v1/crisis-end/approvals")}

PATH_VALUES = {"lang": "en", "version": "1", "token": "not-a-signed-link", "code": "shopping", "reference": "H-ABCDEF",
               "kind": "approve", "rest": "nothing-here"}
SERVICES = ("intake", "screening", "matching", "gdpr")
IDENTITIES = [*(r.value for r in Role), "no token", "expired token", "badly signed token", "other-tenant token"]


def routes(app) -> Iterator[tuple[str, str]]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        methods = getattr(route, "methods", None) or ()
        for method in sorted(methods):
            yield method, context.path


def concrete(path: str) -> str:
    out = path.replace("{rest:path}", PATH_VALUES["rest"])
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        name = out[start + 1:end]
        out = out[:start] + PATH_VALUES.get(name, str(uuid.uuid4())) + out[end + 1:]
    return out


_SEALED = {"kid": "k-1", "nonce": "AAAAAAAAAAAAAAAA", "ciphertext": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
_HELP = {"consent": True, "contact": {"name": "A"}, "languages": ["nl"], "postcode": "3000", "task": "shopping"}
_OFFER = {"consent": True, "contact": {"name": "A"}, "is_adult": True, "languages": ["nl"], "postcode": "3000",
          "tasks": ["shopping"]}
_REVEAL = {"tenant": "leuven", "subject_id": str(uuid.uuid4()), "purpose": "mail-triage",
           "action": {"kind": "mail", "id": str(uuid.uuid4())}, "sealed": {"name": _SEALED}}
# A body FastAPI's own validation accepts, per JSON operation, so that only authorisation decides the answer.
BODIES: dict[tuple[str, str, str], Any] = {
    ("intake", "POST", "/api/v1/help-requests"): _HELP,
    ("intake", "POST", "/api/v1/volunteers"): _OFFER,
    ("intake", "POST", "/api/v1/help-requests/{request_id}/cancel"): {"reason": "duplicate"},
    ("intake", "POST", "/api/v1/volunteers/{volunteer_id}/withdraw"): {"reason": "inactive"},
    ("intake", "PATCH", "/api/v1/help-requests/{request_id}"): {"postcode": "3000"},
    ("intake", "PATCH", "/api/v1/volunteers/{volunteer_id}"): {"postcode": "3000"},
    ("intake", "PUT", "/api/v1/catalogue/draft"): {},
    ("intake", "POST", "/api/v1/catalogue/publish"): {},
    ("intake", "POST", "/api/v1/mail/{mail_id}/help-request"): _HELP,
    ("intake", "POST", "/api/v1/mail/{mail_id}/volunteer"): _OFFER,
    ("intake", "POST", "/api/v1/console/search"): {"phone": "0470 12 34 56"},
    ("screening", "POST", "/api/v1/screening/cases/{case_id}/decision"): {"decision": "reject", "reason": "other"},
    ("screening", "POST", "/api/v1/screening/cases/{case_id}/suspend"): {"reason": "other"},
    ("screening", "POST", "/api/v1/screening/cases/{case_id}/reverse"): {"reason": "other"},
    ("matching", "POST", "/api/v1/matching/needs"): {
        "languages": ["nl"], "postcode": "3000", "task": "shopping", "volunteers_needed": 1,
        "shifts": [{"start": "2030-01-01T08:00:00Z", "end": "2030-01-01T12:00:00Z"}]},
    ("gdpr", "POST", "/api/v1/seal"): {"tenant": "leuven", "fields": {"name": "A"}},
    ("gdpr", "POST", "/api/v1/seal/batch"): {"items": [{"tenant": "leuven", "fields": {"name": "A"}}]},
    ("gdpr", "POST", "/api/v1/reveal"): _REVEAL,
    ("gdpr", "POST", "/api/v1/reveal/batch"): {"items": [_REVEAL]},
    ("gdpr", "POST", "/api/v1/blind-index"): {"tenant": "leuven"},
    ("gdpr", "POST", "/api/v1/subjects/{subject_id}/erasure"): {"subject_kind": "requester"},
    ("gdpr", "POST", "/api/v1/crisis-end/approvals"): {"tenant": "leuven"},
}


def json_operations_with_a_body(app) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in app.openapi()["paths"].items()
            for method, operation in item.items() if "requestBody" in operation}


def _credentials(doors, identity: str, role: Role) -> str | None:
    if identity == "no token":
        return None
    if identity == "expired token":
        return doors.token(role, ttl=dt.timedelta(seconds=-60))
    if identity == "badly signed token":
        return doors.token(role, secret=b"not-the-deployment-secret-" * 2)
    if identity == "other-tenant token":
        return doors.token(role, tenant="elsewhere")
    return doors.token(Role(identity))


def _refused(response: httpx.Response, path: str = "") -> bool:
    if response.status_code in (401, 403):
        return True
    if path.endswith("/sign-out"):
        return False  # signing out ends on the sign-in page: not a refusal
    return response.status_code in (302, 303, 307) and "sign-in" in response.headers.get("location", "")


def test_every_route_has_a_row(doors) -> None:
    """A new endpoint cannot be forgotten: the apps' routes and the table's rows are the same set."""
    served = {(service, method, path) for service in SERVICES for method, path in routes(doors[service].app)}
    assert served - TABLE.keys() == set(), "routes without a row in the authorisation table"
    assert TABLE.keys() - served == set(), "rows for routes that no longer exist"


def test_every_json_operation_with_a_body_has_one_here(doors) -> None:
    expected = {(service, *op) for service in SERVICES for op in json_operations_with_a_body(doors[service].app)}
    assert expected == BODIES.keys()


def _send(doors, service: str, method: str, path: str, token: str | None) -> httpx.Response:
    headers: dict[str, str] = {"Accept-Language": "en"}
    cookies: dict[str, str] = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
        cookies = dict.fromkeys(STAFF_COOKIES, token)
    kwargs: dict[str, Any] = {}
    if (service, method, path) in BODIES:
        if BODIES[(service, method, path)] is not None:
            kwargs["json"] = BODIES[(service, method, path)]
    elif method in ("POST", "PUT", "PATCH"):
        if path.startswith("/api/"):
            kwargs["json"] = {}
        else:
            kwargs["data"] = {"token": token or ""}
    with httpx.Client(base_url=doors[service].url, timeout=60, cookies=cookies, follow_redirects=False) as client:
        return client.request(method, concrete(path), headers=headers, **kwargs)


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_times_every_identity(doors, service: str) -> None:
    """Allowed callers pass (any answer but 401/403/sign-in); everyone else is refused with 401 or 403."""
    wrong: list[str] = []
    for method, path in routes(doors[service].app):
        allowed = TABLE[(service, method, path)]
        for identity in IDENTITIES:
            if allowed == PUBLIC:
                # Public doors take anyone; a token that is there but not valid may be refused rather than ignored
                # (the submission API does: 401), either way it is answered.
                expect_refused = None if identity in BAD_TOKENS else False
            elif identity == "no token" and (service, method, path) in ANONYMOUS_ANSWERED:
                expect_refused = False
            else:
                expect_refused = identity not in {r.value for r in allowed}
            if not expect_refused and (service, method, path) in NOT_SENT_ALLOWED:
                continue
            # A bad token for a role that would be allowed: refused even where the role would pass.
            role = next(iter(allowed)) if allowed not in (PUBLIC, set()) and allowed else Role.OPERATOR
            token = _credentials(doors, identity, role)
            response = _send(doors, service, method, path, token)
            if response.status_code >= 500:
                wrong.append(f"{identity:>18} {method} {path}: {response.status_code} (a server error)")
            elif expect_refused is not None and _refused(response, path) != expect_refused:
                wrong.append(f"{identity:>18} {method} {path}: {response.status_code} "
                             f"({'refused' if _refused(response, path) else 'let through'}; expected "
                             f"{'refusal' if expect_refused else 'to pass'})")
    assert not wrong, "\n" + "\n".join(wrong)


def test_a_partner_reveals_only_its_own_active_match_until_it_closes_and_every_denial_is_audited(doors) -> None:
    """A partner opens the requester's contact for its own active match only; when the match closes, access ends;
    gdpr's audit log holds every refusal (another partner, the closed match, a role without the scope, no token)."""
    gdpr = doors.client("gdpr")
    sealed = gdpr.post("/api/v1/seal", headers=doors.bearer(SV), json={
        "tenant": "leuven", "fields": {"name": "Canary Requester", "phone": "+32 16 00 00 01"}})
    assert sealed.status_code == 200, sealed.text
    subject = uuid.UUID(sealed.json()["subject_id"])
    name = sealed.json()["sealed"]["name"]
    request = help_requested(subject_id=subject)
    match = dict(tenant="leuven", match_id=uuid.uuid4(), request_id=request.request_id, volunteer_id=uuid.uuid4(),
                 organisation="woonzorg-leuven")
    doors.publish(request, MatchAccepted(**match))

    def reveal(headers: dict[str, str]) -> httpx.Response:
        return gdpr.post("/api/v1/reveal", headers=headers, json={
            "tenant": "leuven", "subject_id": str(subject), "purpose": "match-contact",
            "action": {"kind": "match", "id": str(match["match_id"])}, "sealed": {"name": name}})

    own = doors.bearer(P, organisation="woonzorg-leuven", sub="contact-woonzorg")
    opened = eventually(lambda: reveal(own), lambda r: r.status_code == 200, "the partner's own active match, at gdpr")
    assert opened.json()["fields"] == {"name": "Canary Requester"}

    other_partner = reveal(doors.bearer(P, organisation="thuiszorg-other", sub="contact-other"))
    assert other_partner.status_code == 403, other_partner.text
    assert "Canary" not in other_partner.text
    assert reveal(doors.bearer(L)).status_code == 403
    assert reveal({}).status_code == 401

    doors.publish(MatchCompleted(**match))
    closed = eventually(lambda: reveal(own), lambda r: r.status_code == 403, "the closed match refused")
    assert "closed" in closed.json()["detail"]

    records = gdpr.get("/api/v1/audit", headers=doors.bearer(D), params={"subject_id": str(subject)}).json()
    reveals = [r for r in records if r["operation"] == "reveal"]
    denied = [r for r in reveals if r["result"] == "denied"]
    assert [r for r in reveals if r["result"] == "allowed" and r.get("organisation") == "woonzorg-leuven"]
    assert any(r.get("organisation") == "thuiszorg-other" for r in denied), "the other partner's attempt"
    assert any(r.get("role") == "crisis-lead" for r in denied), "a role without gdpr:reveal"
    assert any(r.get("actor") is None and r["reason"] == "a bearer token is required" for r in denied), "no token"
    assert any(r.get("organisation") == "woonzorg-leuven" and "closed" in r["reason"] for r in denied), "after closing"
    assert "Canary" not in str(records)
    assert gdpr.get("/api/v1/audit/verify", headers=doors.bearer(D)).json()["intact"] is True


def test_every_refusal_gdpr_gives_is_in_its_audit_log_not_only_reveals(doors) -> None:
    """A screener reading the audit log, a partner sealing, an expired token erasing, a coordinator approving the end of
    the crisis: each 401/403 is a record in the municipality's chain, naming whoever could be named, and the chain holds."""
    gdpr = doors.client("gdpr")
    subject = uuid.uuid4()
    tries = [
        (gdpr.get("/api/v1/audit", headers=doors.bearer(S, sub="curious-screener")), "curious-screener", 403),
        (gdpr.post("/api/v1/seal", headers=doors.bearer(P, sub="partner-sealer"),
                   json={"tenant": "leuven", "fields": {"name": "Canary Sealer"}}), "partner-sealer", 403),
        (gdpr.post(f"/api/v1/subjects/{subject}/erasure", json={"subject_kind": "requester"},
                   headers=doors.bearer(D, sub="late-dpo", ttl=dt.timedelta(seconds=-60))), None, 401),
        (gdpr.post("/api/v1/crisis-end/approvals", json={"tenant": "leuven"}, headers=doors.bearer(CO, sub="eager-coordinator")),
         "eager-coordinator", 403),
    ]
    for answer, _actor, status in tries:
        assert answer.status_code == status, answer.text
    records = gdpr.get("/api/v1/audit", headers=doors.bearer(D), params={"limit": 1000}).json()
    denials = [r for r in records if r["operation"] == "request" and r["result"] == "denied"]
    for answer, actor, status in tries:
        assert any(r.get("actor") == actor and r["status"] == status and r["reason"] == answer.json()["detail"]
                   for r in denials), (actor, status)
    assert any(r["operation_path"] == "/api/v1/subjects/{subject_id}/erasure" and r.get("actor") is None for r in denials), \
        "an expired token is refused before it names anyone: the record says where, not who"
    assert "Canary" not in str(records)
    assert gdpr.get("/api/v1/audit/verify", headers=doors.bearer(D)).json()["intact"] is True
