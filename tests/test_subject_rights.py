"""A person's rights across all four services on real Kafka and the real store: access (art. 15) and erasure (art. 17)."""

from __future__ import annotations

import uuid
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from helpt_contracts.roles import Role
from helpt_gdpr.access import WITHHELD
from helpt_gdpr.app import create_app as create_gdpr
from helpt_gdpr.settings import GdprSettings
from helpt_intake.app import create_app as create_intake
from helpt_intake.settings import IntakeSettings
from helpt_matching.app import create_app as create_matching
from helpt_matching.settings import MatchingSettings
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.testing import eventually
from helpt_screening.app import create_app as create_screening
from helpt_screening.settings import ScreeningSettings

pytestmark = pytest.mark.infra

REQUESTER = {"name": "Maria Requester", "phone": "+32 16 22 33 44", "note": "lives alone, second floor"}
VOLUNTEER = {"name": "Victor Volunteer", "email": "victor@example.org"}


def test_a_person_gets_everything_held_on_them_and_then_is_erased_everywhere(infra, unique_name, tmp_path):
    run = unique_name.replace("-", "_")
    common = dict(kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url,
                  topic_prefix=f"{unique_name}.", jwt_secret_file=tmp_path / "jwt.secret", log_json=False)
    secret = local_secret(tmp_path / "jwt.secret")

    def bearer(role: Role, sub: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(secret, sub=sub, role=role, tenant='leuven')}"}

    with ExitStack() as stack, MongoClient(infra.mongodb_url, uuidRepresentation="standard") as mongo:
        gdpr = stack.enter_context(TestClient(create_gdpr(GdprSettings(
            **common, mongodb_database=f"{run}_gdpr", key_dir=tmp_path / "keys"))))
        for create, settings_class, name in ((create_intake, IntakeSettings, "intake"),
                                             (create_screening, ScreeningSettings, "screening"),
                                             (create_matching, MatchingSettings, "matching")):
            stack.enter_context(TestClient(create(settings_class(**common, mongodb_database=f"{run}_{name}"))))

        intake = bearer(Role.SERVICE, "intake")
        requester = gdpr.post("/api/v1/seal", headers=intake, json={"tenant": "leuven", "fields": REQUESTER}).json()
        volunteer = gdpr.post("/api/v1/seal", headers=intake, json={"tenant": "leuven", "fields": VOLUNTEER}).json()
        r_id, v_id = uuid.UUID(requester["subject_id"]), uuid.UUID(volunteer["subject_id"])
        mongo[f"{run}_intake"]["requests"].insert_one(
            {"tenant": "leuven", "subject_ids": [r_id], "task": "shopping", "personal": requester["sealed"]})
        mongo[f"{run}_matching"]["matches"].insert_one(
            {"tenant": "leuven", "subject_ids": [r_id, v_id], "requester": requester["sealed"], "volunteer": volunteer["sealed"]})
        mongo[f"{run}_screening"]["cases"].insert_one({"tenant": "leuven", "subject_ids": [v_id], "personal": volunteer["sealed"]})

        # Someone tried to look at her data without an open request: refused, and she will see that.
        refused = gdpr.post("/api/v1/reveal", headers=bearer(Role.OPERATOR, "operator-7"), json={
            "tenant": "leuven", "subject_id": str(r_id), "purpose": "case-follow-up",
            "action": {"kind": "request", "id": str(uuid.uuid4())}, "sealed": {"phone": requester["sealed"]["phone"]}})
        assert refused.status_code == 403

        dpo = bearer(Role.DPO, "dpo-1")
        started = gdpr.post(f"/api/v1/subjects/{r_id}/access", headers=dpo)
        assert started.status_code == 202, started.text
        access_id = started.json()["access_id"]
        export = eventually(lambda: gdpr.get(f"/api/v1/subject-access/{access_id}", headers=dpo),
                      lambda a: a.status_code == 200, "every service's answer").json()

        held = export["held_by_service"]
        assert held["intake"]["requests"][0]["personal"] == REQUESTER
        match = held["matching"]["matches"][0]
        assert match["requester"] == REQUESTER
        assert set(match["volunteer"].values()) == {WITHHELD}, "the other party's data is not hers"
        assert held["screening"] == {}
        assert export["held_by_gdpr"] == {"data_key": True}
        assert any(r["role"] == "operator" and r["result"] == "denied" for r in export["who_saw_it"])
        assert not any(v in str(export) for v in VOLUNTEER.values())
        assert gdpr.get(f"/api/v1/subject-access/{access_id}", headers=bearer(Role.OPERATOR, "o")).status_code == 403

        erased = gdpr.post(f"/api/v1/subjects/{r_id}/erasure", headers=dpo, json={"subject_kind": "requester"})
        assert erased.status_code == 202, erased.text
        purge_id = erased.json()["purge_id"]
        report = eventually(lambda: gdpr.get(f"/api/v1/purges/{purge_id}", headers=dpo).json(),
                      lambda r: r["complete"], "every service's erasure receipt")
        assert report["receipts"]["intake"]["counts"]["requests"] == 1
        assert report["receipts"]["matching"]["counts"]["matches"] == 1
        assert report["destroyed_by_gdpr"]["data_keys"] == 1

        reveal_own = gdpr.post("/api/v1/reveal", headers=dpo, json={
            "tenant": "leuven", "subject_id": str(r_id), "purpose": "subject-access",
            "action": {"kind": "subject", "id": str(r_id)}, "sealed": {"name": requester["sealed"]["name"]}})
        assert reveal_own.status_code == 410
        assert mongo[f"{run}_intake"]["requests"].count_documents({}) == 0
        assert mongo[f"{run}_gdpr"]["subject_access"].count_documents({"subject_ids": r_id}) == 0
        assert mongo[f"{run}_screening"]["cases"].count_documents({"subject_ids": v_id}) == 1, "the volunteer stays"
        assert gdpr.get("/api/v1/audit/verify", headers=dpo).json()["intact"] is True
