"""The end of a crisis, across all four services on real Kafka and the real store.

Canary personal data is sealed for many subjects and travels the way real data does (sealed, in
events and in the services' stores). Two crisis leads end the crisis. Then: every reveal fails,
gdpr holds no key of the tenant, every service sent its receipt, the neighbouring tenant is
untouched, and no byte under Kafka's log directories, the store's data files or any log holds
the canary plaintext.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_contracts.roles import Role
from helpt_gdpr.app import create_app as create_gdpr
from helpt_gdpr.settings import GdprSettings
from helpt_intake.app import create_app as create_intake
from helpt_intake.settings import IntakeSettings
from helpt_matching.app import create_app as create_matching
from helpt_matching.settings import MatchingSettings
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.kafka import create_broker, publish_event
from helpt_platform.testing import eventually
from helpt_screening.app import create_app as create_screening
from helpt_screening.settings import ScreeningSettings

pytestmark = pytest.mark.infra
SUBJECTS = 40


def canary_hits(root: Path, canaries: list[bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path.relative_to(root)}: {c.decode()}" for c in canaries if c in data]
    return hits


def test_ending_the_crisis_destroys_the_tenants_data_provably(infra, unique_name, tmp_path, capfd):
    prefix, run = f"{unique_name}.", unique_name.replace("-", "_")
    common = dict(kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url, topic_prefix=prefix,
                  jwt_secret_file=tmp_path / "jwt.secret", log_json=True)
    gdpr_settings = GdprSettings(**common, mongodb_database=f"{run}_gdpr", key_dir=tmp_path / "keys", tenants="leuven,heverlee")
    others = {
        "intake": (create_intake, IntakeSettings(**common, mongodb_database=f"{run}_intake", smtp_port=0)),
        "screening": (create_screening, ScreeningSettings(**common, mongodb_database=f"{run}_screening")),
        "matching": (create_matching, MatchingSettings(**common, mongodb_database=f"{run}_matching")),
    }
    secret = local_secret(tmp_path / "jwt.secret")

    def bearer(role: Role, sub: str, tenant: str = "leuven") -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(secret, sub=sub, role=role, tenant=tenant)}"}

    marker = secrets.token_hex(6)
    canary = {i: {"name": f"Canary{marker}Name{i}", "phone": f"+3247{marker[:3]}{i:04d}", "note": f"canary-{marker}-note-{i}"}
              for i in range(SUBJECTS)}
    canaries = [v.encode() for fields in canary.values() for v in fields.values()]

    with ExitStack() as stack, MongoClient(infra.mongodb_url, uuidRepresentation="standard") as mongo:
        gdpr = stack.enter_context(TestClient(create_gdpr(gdpr_settings)))
        for create, settings in others.values():
            stack.enter_context(TestClient(create(settings)))

        # Seal the canaries, as intake will; store them and send them the way the services do.
        sealed = gdpr.post("/api/v1/seal/batch", headers=bearer(Role.SERVICE, "intake"),
                           json={"items": [{"tenant": "leuven", "fields": canary[i]} for i in range(SUBJECTS)]})
        assert sealed.status_code == 200, sealed.text
        items = sealed.json()["items"]
        neighbour = gdpr.post("/api/v1/seal", headers=bearer(Role.SERVICE, "intake", "heverlee"),
                              json={"tenant": "heverlee", "fields": {"phone": "+32 16 00 00 00"}}).json()

        async def send_events():
            broker = create_broker(others["intake"][1])
            await broker.start()
            try:
                for n, item in enumerate(items):
                    subject = uuid.UUID(item["subject_id"])
                    event = (help_requested if n % 2 else volunteer_registered)(subject_id=subject, personal=item["sealed"])
                    await publish_event(broker, others["intake"][1], event)
            finally:
                await broker.stop()

        asyncio.run(send_events())
        for name in others:
            mongo[f"{run}_{name}"]["records"].insert_many(
                [{"tenant": "leuven", "subject_ids": [uuid.UUID(i["subject_id"])], "personal": i["sealed"]} for i in items]
                + [{"tenant": "heverlee", "subject_ids": [uuid.UUID(neighbour["subject_id"])], "personal": neighbour["sealed"]}]
            )

        dpo = bearer(Role.DPO, "dpo-1")

        def reveal(item, tenant="leuven", headers=None):
            body = {"tenant": tenant, "subject_id": item["subject_id"], "purpose": "subject-access",
                    "action": {"kind": "subject", "id": item["subject_id"]}, "sealed": item["sealed"]}
            return gdpr.post("/api/v1/reveal", json=body, headers=headers or dpo)

        assert reveal(items[0]).json()["fields"]["name"] == canary[0]["name"]

        # Two different crisis leads must approve; the same one twice does not count.
        first = gdpr.post("/api/v1/crisis-end/approvals", json={"tenant": "leuven"}, headers=bearer(Role.CRISIS_LEAD, "lead-a"))
        assert first.status_code == 200 and first.json()["status"] == "awaiting-second-approval"
        again = gdpr.post("/api/v1/crisis-end/approvals", json={"tenant": "leuven"}, headers=bearer(Role.CRISIS_LEAD, "lead-a"))
        assert again.status_code == 409
        assert reveal(items[0]).status_code == 200, "one approval must not purge anything"
        second = gdpr.post("/api/v1/crisis-end/approvals", json={"tenant": "leuven"}, headers=bearer(Role.CRISIS_LEAD, "lead-b"))
        assert second.status_code == 202, second.text
        purge_id = second.json()["purge_id"]

        report = eventually(lambda: gdpr.get(f"/api/v1/purges/{purge_id}", headers=dpo).json(),
                            lambda r: r.get("complete"), "a receipt from every service")
        assert set(report["receipts"]) == {"intake", "screening", "matching"} and report["missing"] == []
        for name in others:
            assert report["receipts"][name]["counts"].get("records") == SUBJECTS, report
        assert report["destroyed_by_gdpr"]["data_keys"] == SUBJECTS

        # Every reveal fails; no key of the tenant remains; nothing of the tenant in any store.
        assert {reveal(item).status_code for item in items} == {410}
        gdpr_store = mongo[f"{run}_gdpr"]
        assert not [name for name in gdpr_store.list_collection_names() if name.startswith("data_keys.leuven")]
        assert gdpr_store["data_keys"].count_documents({"tenant": "leuven"}) == 0
        assert not (tmp_path / "keys" / "leuven.key").exists()
        for name in others:
            assert mongo[f"{run}_{name}"]["records"].count_documents({"tenant": "leuven"}) == 0
        again = gdpr.post("/api/v1/crisis-end/approvals", json={"tenant": "leuven"}, headers=bearer(Role.CRISIS_LEAD, "lead-c"))
        assert again.status_code == 410
        unknown = gdpr.post("/api/v1/crisis-end/approvals", json={"tenant": "atlantis"},
                            headers=bearer(Role.CRISIS_LEAD, "lead-a", tenant="atlantis"))
        assert unknown.status_code == 403, "a municipality this deployment does not serve is refused at the token"

        # The neighbouring municipality is untouched.
        assert reveal(neighbour, "heverlee", bearer(Role.DPO, "dpo-2", "heverlee")).json()["fields"] == {"phone": "+32 16 00 00 00"}
        for name in others:
            assert mongo[f"{run}_{name}"]["records"].count_documents({"tenant": "heverlee"}) == 1

    output = capfd.readouterr()
    assert not [c for c in canaries if c.decode() in output.out + output.err], "canary plaintext in a log line"
    if infra.state_dir is None:
        pytest.skip("the raw-byte scan needs the local processes' files; run with HELPT_TEST_INFRA=local")
    assert canary_hits(infra.state_dir, canaries) == []
    # The scan reads the right bytes: the sealed (now unreadable) events are still in Kafka's segments.
    ciphertext = items[0]["sealed"]["name"]["ciphertext"].encode()
    assert any("kafka" in hit for hit in canary_hits(infra.state_dir, [ciphertext]))
