"""Two municipalities on one deployment; the crisis ends in one of them.

Leuven and Heverlee share the four services on the real Kafka and store. Citizens of both ask for
and offer help through intake's real pages and API; their requests and offers reach screening and
matching. Then two crisis leads of Leuven end Leuven's crisis. Afterwards nothing of Leuven is left
in any service's store, gdpr holds no key of Leuven and Leuven's sealed data no longer opens —
while Heverlee's requests, cases, projections and keys are all still there and still work: its
data is revealed to those allowed, its screener decides, its citizens still submit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from pymongo import MongoClient

from helpt_contracts.events import HelpRequested, VolunteerRegistered
from helpt_contracts.roles import Role
from helpt_platform.testing import eventually, topic_events

pytestmark = pytest.mark.infra
ENDED, GOES_ON = "leuven", "heverlee"
HEVERLEE = {"id": "heverlee", "name": "Heverlee", "help_phone": "016 11 22 33", "languages": ["nl", "en"],
            "hosts": ["heverlee.example"]}
STORES = ("intake", "screening", "matching")
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def doors_settings(tmp_path_factory) -> dict[str, Any]:
    profiles = tmp_path_factory.mktemp("tenant-profiles")
    (profiles / "heverlee.json").write_text(json.dumps(HEVERLEE), "utf-8")
    return {"tenants": f"{ENDED},{GOES_ON}", "tenant_dir": profiles}


@pytest.fixture(scope="module")
def mongo(doors) -> Iterator[MongoClient]:
    with MongoClient(doors.mongodb_url, uuidRepresentation="standard") as client:
        yield client


def db(doors, mongo, service: str):
    return mongo[doors[service].settings.database_name]


def tenant_documents(doors, mongo, tenant: str) -> dict[str, dict[str, int]]:
    """Per service, per collection: how many documents of `tenant` (statistics are kept as `municipality`)."""
    found: dict[str, dict[str, int]] = {}
    for service in STORES:
        store = db(doors, mongo, service)
        counts = {name: store[name].count_documents({"tenant": tenant}) for name in store.list_collection_names()
                  if not name.startswith("system.")}
        found[service] = {name: n for name, n in counts.items() if n}
    return found


def submit(doors, tenant: str, n: int) -> dict[str, Any]:
    """One help request through the public pages and one offer through the API, for `tenant`'s citizens."""
    intake = doors.client("intake")
    home = intake.get(f"/t/{tenant}/en/help")
    assert home.status_code == 200
    token = re.search(r'name="submission" value="([^"]+)"', home.text).group(1)
    fields = {"task": "shopping", "postcode": "3001", "languages": "nl", "name": f"Canary {tenant} requester {n}",
              "phone": f"0470 00 0{n} 0{n}", "consent": "yes", "submission": token}
    sent = intake.post(f"/t/{tenant}/en/help", content=urlencode(fields), headers=FORM)
    assert sent.status_code == 303 and sent.headers["location"].startswith(f"/t/{tenant}/en/received/H-"), sent.text
    reference = sent.headers["location"].rsplit("/", 1)[1]
    offer = intake.post("/api/v1/volunteers", headers={"Idempotency-Key": f"{tenant}-{n}", "Host": f"{tenant}.example"}
                        if tenant == GOES_ON else {"Idempotency-Key": f"{tenant}-{n}"},
                        json={"tasks": ["shopping"], "postcode": "3001", "languages": ["nl"], "is_adult": True, "consent": True,
                              "contact": {"name": f"Canary {tenant} volunteer {n}", "email": f"v{n}@{tenant}.example"}})
    assert offer.status_code == 202, offer.text
    requests = {e.reference: e for _, e in topic_events(doors["intake"].settings, HelpRequested.TOPIC)}
    volunteers = {str(e.volunteer_id): e for _, e in topic_events(doors["intake"].settings, VolunteerRegistered.TOPIC)}
    request, volunteer = requests[reference], volunteers[offer.json()["id"]]
    assert (request.tenant, volunteer.tenant) == (tenant, tenant), "the address chose the municipality"
    return {"request": request, "volunteer": volunteer}


def reveal_as_dpo(doors, tenant: str, event: Any) -> Any:
    body = {"tenant": tenant, "subject_id": str(event.subject_id), "purpose": "subject-access",
            "action": {"kind": "subject", "id": str(event.subject_id)},
            "sealed": {field.value: sealed.model_dump(mode="json") for field, sealed in event.personal.items()}}
    return doors.client("gdpr").post("/api/v1/reveal", json=body, headers=doors.bearer(Role.DPO, tenant=tenant))


def reached_screening_and_matching(doors, mongo, tenant: str, case: dict[str, Any]) -> None:
    screening = doors.client("screening")
    volunteer_id = case["volunteer"].volunteer_id
    eventually(lambda: screening.get(f"/api/v1/screening/cases/{volunteer_id}",
                                     headers=doors.bearer(Role.SCREENER, tenant=tenant)).status_code,
               lambda status: status == 200, f"{tenant}'s offer has a screening case")
    matching = db(doors, mongo, "matching")
    eventually(lambda: (matching["requests"].count_documents({"_id": case["request"].request_id, "tenant": tenant}),
                        matching["volunteers"].count_documents({"_id": volunteer_id, "tenant": tenant})),
               lambda found: found == (1, 1), f"{tenant}'s request and offer are in matching's projections")


def test_ending_one_municipalitys_crisis_destroys_its_data_everywhere_and_leaves_the_other_working(doors, mongo):
    cases = {tenant: [submit(doors, tenant, n) for n in (1, 2)] for tenant in (ENDED, GOES_ON)}
    for tenant, theirs in cases.items():
        for case in theirs:
            reached_screening_and_matching(doors, mongo, tenant, case)
    ended = cases[ENDED][0]["request"]
    assert reveal_as_dpo(doors, ENDED, ended).json()["fields"]["name"] == f"Canary {ENDED} requester 1"
    before = tenant_documents(doors, mongo, GOES_ON)
    assert all(before[service] for service in STORES), before
    assert tenant_documents(doors, mongo, ENDED).keys() == before.keys() and all(tenant_documents(doors, mongo, ENDED).values())
    gdpr_db = db(doors, mongo, "gdpr")
    keys_before = gdpr_db[f"data_keys.{GOES_ON}"].count_documents({})
    assert keys_before >= 4 and gdpr_db[f"data_keys.{ENDED}"].count_documents({}) >= 4

    # Two of Leuven's crisis leads end Leuven's crisis; a lead of Heverlee has no say in it.
    gdpr = doors.client("gdpr")
    approve = lambda sub, tenant=ENDED: gdpr.post("/api/v1/crisis-end/approvals", json={"tenant": ENDED},  # noqa: E731
                                                  headers=doors.bearer(Role.CRISIS_LEAD, sub=sub, tenant=tenant))
    assert approve("lead-heverlee", GOES_ON).status_code == 403
    assert approve("lead-a").json()["status"] == "awaiting-second-approval"
    second = approve("lead-b")
    assert second.status_code == 202, second.text
    purge_id = second.json()["purge_id"]
    report = eventually(lambda: gdpr.get(f"/api/v1/purges/{purge_id}", headers=doors.bearer(Role.DPO, tenant=ENDED)).json(),
                        lambda r: r.get("complete"), "a receipt from every service")
    assert set(report["receipts"]) == set(STORES) and report["missing"] == []

    # Leuven: nothing left in any store, no key, no sealed field opens.
    assert tenant_documents(doors, mongo, ENDED) == {service: {} for service in STORES}
    ended_subjects = [c[kind].subject_id for c in cases[ENDED] for kind in ("request", "volunteer")]
    for service in STORES:
        store = db(doors, mongo, service)
        for name in store.list_collection_names():
            assert store[name].count_documents({"subject_ids": {"$in": ended_subjects}}) == 0, (service, name)
    assert f"data_keys.{ENDED}" not in gdpr_db.list_collection_names(), "the municipality's keys are dropped with their collection"
    assert gdpr_db["data_keys"].count_documents({"tenant": ENDED}) == 0, "nor any of its keys in the shared collection of before"
    assert not (doors["gdpr"].settings.key_dir / f"{ENDED}.key").exists()
    assert (doors["gdpr"].settings.key_dir / f"{GOES_ON}.key").exists()
    assert {reveal_as_dpo(doors, ENDED, c[kind]).status_code for c in cases[ENDED] for kind in ("request", "volunteer")} == {410}

    # Heverlee: every document, every key still there, and they still work.
    assert tenant_documents(doors, mongo, GOES_ON) == before
    assert gdpr_db[f"data_keys.{GOES_ON}"].count_documents({}) == keys_before
    kept = cases[GOES_ON][0]
    assert reveal_as_dpo(doors, GOES_ON, kept["request"]).json()["fields"]["name"] == f"Canary {GOES_ON} requester 1"
    screener = doors.bearer(Role.SCREENER, tenant=GOES_ON)
    screening = doors.client("screening")
    volunteer_id = kept["volunteer"].volunteer_id
    opened = screening.post(f"/api/v1/screening/cases/{volunteer_id}/reveal", headers=screener)
    assert opened.status_code == 200 and opened.json()["fields"]["name"] == f"Canary {GOES_ON} volunteer 1"
    decided = screening.post(f"/api/v1/screening/cases/{volunteer_id}/decision", headers=screener,
                             json={"decision": "approve", "reason": "interview-ok"})
    assert decided.status_code == 200, decided.text
    matching = db(doors, mongo, "matching")
    eventually(lambda: matching["volunteers"].find_one({"_id": volunteer_id}) or {},
               lambda doc: doc.get("decision") == "approved",
               "matching hears Heverlee's approval")
    later = submit(doors, GOES_ON, 3)
    reached_screening_and_matching(doors, mongo, GOES_ON, later)
    assert reveal_as_dpo(doors, GOES_ON, later["volunteer"]).json()["fields"]["name"] == f"Canary {GOES_ON} volunteer 3"

    # Leuven's crisis is over: a late submission there is refused, and nothing of it is kept.
    late = doors.client("intake").post(f"/t/{ENDED}/api/v1/volunteers", json={
        "tasks": ["shopping"], "postcode": "3000", "languages": ["nl"], "is_adult": True, "consent": True,
        "contact": {"name": "Canary late", "email": "late@leuven.example"}})
    assert late.status_code == 410, late.text
    intake = db(doors, mongo, "intake")
    assert {name for name, n in tenant_documents(doors, mongo, ENDED)["intake"].items() if n} <= {"catalogue_versions"}, \
        "at most the shipped catalogue again (docs/adr/0006), never a person"
    assert intake["cases"].count_documents({"tenant": ENDED}) == 0
