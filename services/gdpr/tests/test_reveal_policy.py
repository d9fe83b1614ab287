"""Seal and reveal through gdpr's API against the real store: the whole policy table, both ways.

Every allowed row round-trips; every forbidden variation of every row (a category it does not
cover, a closed action, a subject outside the action, another organisation, another person,
another tenant) and every role × purpose pair without a row is refused and audited, with no
plaintext in the answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from helpt_contracts.events import (
    HelpRequestCancelled, MailOutcome, MailReceived, MailTriaged, MatchAccepted, MatchCompleted, VolunteerApproved,
    ScreeningReason,
)
from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_contracts.roles import ActionKind, Purpose, Role
from helpt_contracts.sealed import PersonalField as F
from helpt_gdpr.app import create_app
from helpt_gdpr.policy import EVERYTHING, POLICY
from helpt_gdpr.settings import GdprSettings
from helpt_gdpr.verify_audit import verify as verify_command
from helpt_platform.auth import issue_token, local_secret

pytestmark = pytest.mark.infra

PLAINTEXT = {
    F.NAME: "Canary Jansen-Peeters", F.PHONE: "+32 470 99 88 77", F.EMAIL: "canary.jansen@example.org",
    F.ADDRESS: "Kanariestraat 17, 3010 Kessel-Lo", F.BIRTH_DATE: "1941-02-03", F.NOTE: "insulin in the fridge",
}


@dataclass
class World:
    client: TestClient
    secret: bytes
    db_name: str
    mongodb_url: str
    ids: dict[str, uuid.UUID]
    sealed: dict[str, dict]

    def token(self, role: Role, *, sub: str = "someone", tenant: str = "leuven", org: str | None = None,
              ttl: dt.timedelta = dt.timedelta(hours=1)) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.secret, sub=sub, role=role, tenant=tenant, organisation=org, ttl=ttl)}"}

    def reveal(self, headers, subject: str, purpose: Purpose, kind: ActionKind, action: str, fields=None, tenant="leuven"):
        sealed = self.sealed[subject]
        chosen = {f: sealed[f] for f in (fields or sealed)}
        body = {"tenant": tenant, "subject_id": str(self.ids[subject]), "purpose": purpose.value,
                "action": {"kind": kind.value, "id": str(self.ids[action])}, "sealed": chosen}
        return self.client.post("/api/v1/reveal", json=body, headers=headers)


@pytest.fixture(scope="module")
def world(infra, tmp_path_factory) -> World:
    tmp = tmp_path_factory.mktemp("gdpr")
    name = f"helpt_gdpr_{uuid.uuid4().hex[:8]}"
    settings = GdprSettings(
        kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url, mongodb_database=name,
        key_dir=tmp / "keys", jwt_secret_file=tmp / "jwt.secret", tenants="leuven,heverlee", log_json=False,
    )
    secret = local_secret(settings.jwt_secret_file)
    with TestClient(create_app(settings)) as client:
        ids: dict[str, uuid.UUID] = {}
        world = World(client, secret, name, infra.mongodb_url, ids, {})
        intake = world.token(Role.SERVICE, sub="intake")
        for subject in ("requester", "volunteer", "other_volunteer", "stranger", "sender"):
            answer = client.post("/api/v1/seal", headers=intake,
                                 json={"tenant": "leuven", "fields": {f.value: v for f, v in PLAINTEXT.items()}})
            assert answer.status_code == 200, answer.text
            ids[subject] = uuid.UUID(answer.json()["subject_id"])
            world.sealed[subject] = answer.json()["sealed"]
        for key in ("request", "closed_request", "volunteer_id", "other_volunteer_id", "match", "closed_match",
                    "mail", "triaged_mail"):
            ids[key] = uuid.uuid4()
        events = [
            help_requested(request_id=ids["request"], subject_id=ids["requester"]),
            help_requested(request_id=ids["closed_request"], subject_id=ids["requester"]),
            HelpRequestCancelled(tenant="leuven", request_id=ids["closed_request"], reason="duplicate"),
            volunteer_registered(volunteer_id=ids["volunteer_id"], subject_id=ids["volunteer"]),
            volunteer_registered(volunteer_id=ids["other_volunteer_id"], subject_id=ids["other_volunteer"]),
            VolunteerApproved(tenant="leuven", volunteer_id=ids["other_volunteer_id"], case_id=uuid.uuid4(),
                              reason=ScreeningReason.INTERVIEW_OK),
            MatchAccepted(tenant="leuven", match_id=ids["match"], request_id=ids["request"],
                          volunteer_id=ids["volunteer_id"], organisation="wit-gele-kruis"),
            MatchAccepted(tenant="leuven", match_id=ids["closed_match"], request_id=ids["request"],
                          volunteer_id=ids["volunteer_id"], organisation="wit-gele-kruis"),
            MatchCompleted(tenant="leuven", match_id=ids["closed_match"], request_id=ids["request"],
                           volunteer_id=ids["volunteer_id"], organisation="wit-gele-kruis"),
            MailReceived(tenant="leuven", mail_id=ids["mail"], subject_id=ids["sender"]),
            MailReceived(tenant="leuven", mail_id=ids["triaged_mail"], subject_id=ids["sender"]),
            MailTriaged(tenant="leuven", mail_id=ids["triaged_mail"], outcome=MailOutcome.DISCARDED),
        ]
        keeper = client.portal.call(client.app.state.gdpr.keeper)
        for event in events:
            client.portal.call(keeper.actions.apply, event, uuid.uuid4())
        yield world


def allowed_cases(w: World):
    """(label, headers, subject, purpose, action kind, action, fields): one per row of POLICY."""
    vol = str(w.ids["volunteer"])
    return [
        ("screener/open case", w.token(Role.SCREENER), "volunteer", Purpose.SCREENING_CASE, ActionKind.SCREENING_CASE, "volunteer_id", EVERYTHING),
        ("partner/own active match", w.token(Role.PARTNER, org="wit-gele-kruis"), "requester", Purpose.MATCH_CONTACT, ActionKind.MATCH, "match", {F.NAME, F.PHONE, F.ADDRESS, F.NOTE}),
        ("volunteer/own active match", w.token(Role.VOLUNTEER, sub=vol), "requester", Purpose.MATCH_CONTACT, ActionKind.MATCH, "match", {F.NAME, F.PHONE, F.ADDRESS}),
        ("volunteer/self", w.token(Role.VOLUNTEER, sub=vol), "volunteer", Purpose.SUBJECT_ACCESS, ActionKind.SUBJECT, "volunteer", EVERYTHING),
        ("operator/open request", w.token(Role.OPERATOR), "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "request", EVERYTHING - {F.BIRTH_DATE}),
        ("coordinator/open request", w.token(Role.COORDINATOR), "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "request", {F.NAME, F.PHONE, F.EMAIL}),
        ("operator/open mail", w.token(Role.OPERATOR), "sender", Purpose.MAIL_TRIAGE, ActionKind.MAIL, "mail", {F.NAME, F.EMAIL, F.PHONE, F.NOTE}),
        ("dpo/subject access", w.token(Role.DPO), "requester", Purpose.SUBJECT_ACCESS, ActionKind.SUBJECT, "requester", EVERYTHING),
        ("matching/offer", w.token(Role.SERVICE, sub="matching"), "volunteer", Purpose.VOLUNTEER_OFFER, ActionKind.SUBJECT, "volunteer", {F.NAME, F.EMAIL, F.PHONE}),
        ("intake/open request", w.token(Role.SERVICE, sub="intake"), "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "request", {F.NAME, F.PHONE, F.EMAIL}),
        ("matching/reminder to a requester", w.token(Role.SERVICE, sub="matching"), "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "request", {F.EMAIL}),
    ]


def test_every_row_of_the_policy_has_an_allowed_case_here(world):
    assert len(allowed_cases(world)) == len(POLICY)


def test_each_allowed_row_round_trips_the_sealed_fields(world):
    for label, headers, subject, purpose, kind, action, fields in allowed_cases(world):
        answer = world.reveal(headers, subject, purpose, kind, action, fields)
        assert answer.status_code == 200, (label, answer.text)
        assert answer.json()["fields"] == {f.value: PLAINTEXT[f] for f in fields}, label


def forbidden_cases(w: World):
    vol, other = str(w.ids["volunteer"]), str(w.ids["other_volunteer"])
    cases = []
    for label, headers, subject, purpose, kind, action, fields in allowed_cases(w):
        if fields != EVERYTHING:
            cases.append((f"{label}: a category the row does not cover", headers, subject, purpose, kind, action, EVERYTHING - fields, 403))
        cases.append((f"{label}: token of another tenant", None, subject, purpose, kind, action, fields, 403))
    cases += [
        ("screener: case closed by a decision", w.token(Role.SCREENER), "other_volunteer", Purpose.SCREENING_CASE, ActionKind.SCREENING_CASE, "other_volunteer_id", {F.NAME}, 403),
        ("screener: subject outside the case", w.token(Role.SCREENER), "requester", Purpose.SCREENING_CASE, ActionKind.SCREENING_CASE, "volunteer_id", {F.NAME}, 403),
        ("screener: unknown case", w.token(Role.SCREENER), "volunteer", Purpose.SCREENING_CASE, ActionKind.SCREENING_CASE, "request", {F.NAME}, 403),
        ("partner: match of another organisation", w.token(Role.PARTNER, org="rode-kruis"), "requester", Purpose.MATCH_CONTACT, ActionKind.MATCH, "match", {F.PHONE}, 403),
        ("partner: match closed", w.token(Role.PARTNER, org="wit-gele-kruis"), "requester", Purpose.MATCH_CONTACT, ActionKind.MATCH, "closed_match", {F.PHONE}, 403),
        ("partner: subject outside the match", w.token(Role.PARTNER, org="wit-gele-kruis"), "stranger", Purpose.MATCH_CONTACT, ActionKind.MATCH, "match", {F.PHONE}, 403),
        ("volunteer: someone else's match", w.token(Role.VOLUNTEER, sub=other), "requester", Purpose.MATCH_CONTACT, ActionKind.MATCH, "match", {F.PHONE}, 403),
        ("volunteer: own match closed", w.token(Role.VOLUNTEER, sub=vol), "requester", Purpose.MATCH_CONTACT, ActionKind.MATCH, "closed_match", {F.PHONE}, 403),
        ("volunteer: another person's data as self", w.token(Role.VOLUNTEER, sub=vol), "requester", Purpose.SUBJECT_ACCESS, ActionKind.SUBJECT, "requester", {F.NAME}, 403),
        ("operator: request cancelled", w.token(Role.OPERATOR), "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "closed_request", {F.PHONE}, 403),
        ("operator: subject outside the request", w.token(Role.OPERATOR), "stranger", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "request", {F.PHONE}, 403),
        ("operator: mail already triaged", w.token(Role.OPERATOR), "sender", Purpose.MAIL_TRIAGE, ActionKind.MAIL, "triaged_mail", {F.NOTE}, 403),
        ("operator: subject outside the mail", w.token(Role.OPERATOR), "stranger", Purpose.MAIL_TRIAGE, ActionKind.MAIL, "mail", {F.NOTE}, 403),
        ("operator: unknown mail", w.token(Role.OPERATOR), "sender", Purpose.MAIL_TRIAGE, ActionKind.MAIL, "request", {F.NOTE}, 403),
        ("operator: a request as the mail action", w.token(Role.OPERATOR), "requester", Purpose.MAIL_TRIAGE, ActionKind.REQUEST, "request", {F.NOTE}, 403),
        ("coordinator: no mail triage", w.token(Role.COORDINATOR), "sender", Purpose.MAIL_TRIAGE, ActionKind.MAIL, "mail", {F.NAME}, 403),
        ("intake service: request cancelled", w.token(Role.SERVICE, sub="intake"), "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "closed_request", {F.PHONE}, 403),
        ("matching service: reminder for a cancelled request", w.token(Role.SERVICE, sub="matching"), "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "closed_request", {F.EMAIL}, 403),
        ("matching service: reminder to someone outside the request", w.token(Role.SERVICE, sub="matching"), "stranger", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "request", {F.EMAIL}, 403),
        ("matching service: a requester's phone or name", w.token(Role.SERVICE, sub="matching"), "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "request", {F.PHONE, F.NAME}, 403),
        ("matching service: offer to a non-volunteer", w.token(Role.SERVICE, sub="matching"), "requester", Purpose.VOLUNTEER_OFFER, ActionKind.SUBJECT, "requester", {F.EMAIL}, 403),
        ("screening service: no declared purpose", w.token(Role.SERVICE, sub="screening"), "volunteer", Purpose.VOLUNTEER_OFFER, ActionKind.SUBJECT, "volunteer", {F.EMAIL}, 403),
        ("citizen: no reveal at all", w.token(Role.CITIZEN), "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "request", {F.PHONE}, 403),
        ("no token", {}, "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "request", {F.PHONE}, 401),
        ("expired token", w.token(Role.OPERATOR, ttl=dt.timedelta(seconds=-1)), "requester", Purpose.CASE_FOLLOW_UP, ActionKind.REQUEST, "request", {F.PHONE}, 401),
    ]
    rows = {(r.role, r.purpose) for r in POLICY}
    for role, purpose in itertools.product(Role, Purpose):
        if (role, purpose) not in rows:
            cases.append((f"{role.value} × {purpose.value}: no row", w.token(role, org="wit-gele-kruis", sub=vol),
                          "requester", purpose, ActionKind.REQUEST, "request", {F.PHONE}, 403))
    return cases


def audit_records(w: World, **criteria) -> list[dict]:
    with MongoClient(w.mongodb_url, uuidRepresentation="standard") as mongo:
        return list(mongo[w.db_name]["audit"].find({"tenant": "leuven", **criteria}))


def test_every_forbidden_combination_is_refused_audited_and_leaks_nothing(world):
    for label, headers, subject, purpose, kind, action, fields, status in forbidden_cases(world):
        if headers is None:  # a genuine token, for the neighbouring municipality
            headers = world.token(Role.DPO, tenant="heverlee", org="wit-gele-kruis", sub=str(world.ids["volunteer"]))
        before = len(audit_records(world, operation="reveal", result="denied"))
        answer = world.reveal(headers, subject, purpose, kind, action, fields)
        assert answer.status_code == status, (label, answer.status_code, answer.text)
        assert not any(value in answer.text for value in PLAINTEXT.values()), label
        denied = audit_records(world, operation="reveal", result="denied")
        assert len(denied) == before + 1, f"{label}: not audited"
        assert not any(value in str(denied[-1]) for value in PLAINTEXT.values()), label


def test_a_tampered_sealed_field_is_a_clear_4xx_not_a_500(world):
    sealed = dict(world.sealed["requester"][F.PHONE.value])
    sealed["ciphertext"] = sealed["ciphertext"][:-4] + ("AAA=" if not sealed["ciphertext"].endswith("AAA=") else "BBB=")
    body = {"tenant": "leuven", "subject_id": str(world.ids["requester"]), "purpose": "subject-access",
            "action": {"kind": "subject", "id": str(world.ids["requester"])}, "sealed": {"phone": sealed}}
    answer = world.client.post("/api/v1/reveal", json=body, headers=world.token(Role.DPO))
    assert answer.status_code == 422
    assert "does not open" in answer.json()["detail"]


def test_a_field_of_one_subject_presented_as_anothers_does_not_open(world):
    body = {"tenant": "leuven", "subject_id": str(world.ids["stranger"]), "purpose": "subject-access",
            "action": {"kind": "subject", "id": str(world.ids["stranger"])},
            "sealed": {"phone": world.sealed["requester"]["phone"]}}
    answer = world.client.post("/api/v1/reveal", json=body, headers=world.token(Role.DPO))
    assert answer.status_code in (410, 422)
    assert PLAINTEXT[F.PHONE] not in answer.text


def test_batch_reveal_decides_each_item_alone(world):
    ok = {"tenant": "leuven", "subject_id": str(world.ids["requester"]), "purpose": "case-follow-up",
          "action": {"kind": "request", "id": str(world.ids["request"])}, "sealed": {"phone": world.sealed["requester"]["phone"]}}
    closed = ok | {"action": {"kind": "request", "id": str(world.ids["closed_request"])}}
    answer = world.client.post("/api/v1/reveal/batch", json={"items": [ok, closed]}, headers=world.token(Role.OPERATOR))
    assert answer.status_code == 200
    first, second = answer.json()["items"]
    assert first["status"] == 200 and first["fields"] == {"phone": PLAINTEXT[F.PHONE]}
    assert second["status"] == 403 and second["fields"] is None


def test_only_services_may_seal(world):
    body = {"tenant": "leuven", "fields": {"name": "Someone"}}
    assert world.client.post("/api/v1/seal", json=body, headers=world.token(Role.OPERATOR)).status_code == 403
    assert world.client.post("/api/v1/seal", json=body).status_code == 401
    foreign = world.token(Role.SERVICE, sub="intake", tenant="heverlee")
    assert world.client.post("/api/v1/seal", json=body, headers=foreign).status_code == 403


def test_the_audit_chain_verifies_and_a_tampered_record_is_found(world):
    dpo = world.token(Role.DPO)
    for _ in range(8):  # enough records of its own, whatever ran before
        world.reveal(dpo, "requester", Purpose.SUBJECT_ACCESS, ActionKind.SUBJECT, "requester", {F.NAME})
    report = world.client.get("/api/v1/audit/verify", headers=dpo).json()
    assert report["intact"] is True and report["records"] >= 8
    with MongoClient(world.mongodb_url, uuidRepresentation="standard") as mongo:
        audit = mongo[world.db_name]["audit"]
        victim = audit.find_one({"tenant": "leuven", "seq": 7})
        audit.update_one({"_id": victim["_id"]}, {"$set": {"result": "allowed" if victim["result"] != "allowed" else "denied"}})
        try:
            report = world.client.get("/api/v1/audit/verify", headers=dpo).json()
            command = asyncio.run(verify_command("leuven", GdprSettings(mongodb_url=world.mongodb_url, mongodb_database=world.db_name)))
        finally:
            audit.update_one({"_id": victim["_id"]}, {"$set": {"result": victim["result"]}})
    assert report["intact"] is False and report["first_broken_seq"] == 7
    assert command == 1, "the command line check fails on the same broken link"
    assert world.client.get("/api/v1/audit/verify", headers=world.token(Role.OPERATOR)).status_code == 403


def test_the_dpo_finds_a_subjects_reveals_and_never_their_data(world):
    records = world.client.get(
        "/api/v1/audit", params={"subject_id": str(world.ids["requester"])}, headers=world.token(Role.DPO)
    ).json()
    assert records and all(r["subject_id"] == str(world.ids["requester"]) for r in records)
    assert {r["result"] for r in records if r["operation"] == "reveal"} == {"allowed", "denied"}
    assert not any(value in str(records) for value in PLAINTEXT.values())


def test_the_same_person_written_differently_gets_the_same_blind_index(world):
    intake = world.token(Role.SERVICE, sub="intake")
    first = world.client.post("/api/v1/blind-index", headers=intake,
                              json={"tenant": "leuven", "phone": "0470 12 34 56", "email": " Jan.Peeters@Example.org "}).json()
    second = world.client.post("/api/v1/blind-index", headers=intake,
                               json={"tenant": "leuven", "phone": "+32470123456", "email": "jan.peeters@example.org"}).json()
    assert first == second and len(first["phone"]) == 64
    # Hex digests can contain any digit run by chance; these strings they can never contain.
    assert "+32470123456" not in str(first) and "jan.peeters" not in str(first).lower()
    other = world.client.post("/api/v1/blind-index", headers=world.token(Role.SERVICE, sub="intake", tenant="heverlee"),
                              json={"tenant": "heverlee", "phone": "+32470123456"}).json()
    assert other["phone"] != first["phone"], "another municipality's index must not be linkable"


def test_a_blind_index_of_something_that_is_not_a_phone_number_is_a_422(world):
    answer = world.client.post("/api/v1/blind-index", headers=world.token(Role.SERVICE, sub="intake"),
                               json={"tenant": "leuven", "phone": "call me maybe"})
    assert answer.status_code == 422


def test_a_malformed_request_is_a_422_that_never_echoes_what_was_sent(world):
    body = {"tenant": "leuven", "fields": {"name": "Canary Jansen-Peeters", "favourite_colour": "+32 470 99 88 77"}}
    answer = world.client.post("/api/v1/seal", json=body, headers=world.token(Role.SERVICE, sub="intake"))
    assert answer.status_code == 422
    assert "fields" in str(answer.json()["detail"][0]["loc"])
    assert "Canary" not in answer.text and "470" not in answer.text


def test_a_screener_sees_a_case_while_open_not_after_a_decision_again_after_a_reversal_and_never_after_withdrawal(world):
    from helpt_contracts.events import VolunteerDecisionReversed, VolunteerWithdrawn

    keeper = world.client.portal.call(world.client.app.state.gdpr.keeper)
    case = uuid.uuid4()
    world.ids["reversal_case"] = case
    common = dict(tenant="leuven", volunteer_id=case, case_id=case)

    def screener_sees() -> int:
        return world.reveal(world.token(Role.SCREENER), "other_volunteer", Purpose.SCREENING_CASE,
                            ActionKind.SCREENING_CASE, "reversal_case", {F.NAME}).status_code

    for event, status in [
        (volunteer_registered(volunteer_id=case, subject_id=world.ids["other_volunteer"]), 200),
        (VolunteerApproved(**common, reason=ScreeningReason.INTERVIEW_OK), 403),
        (VolunteerDecisionReversed(**common, reason=ScreeningReason.DECISION_REVERSED, reversed_decision="approved"), 200),
        (VolunteerWithdrawn(tenant="leuven", volunteer_id=case, reason="volunteer-withdrew"), 403),
        (VolunteerDecisionReversed(**common, reason=ScreeningReason.OTHER, reversed_decision="rejected"), 403),
    ]:
        world.client.portal.call(keeper.actions.apply, event, uuid.uuid4())
        assert screener_sees() == status, type(event).__name__
