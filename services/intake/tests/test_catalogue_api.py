"""Draft, preview and publish of the vacancy catalogue on the real stack (gdpr + intake, Kafka, FerretDB).

Each test edits its own municipality, so the tests do not see each other's drafts and versions.
"""

from __future__ import annotations

import asyncio
import copy
import uuid

import pytest
from fastapi.testclient import TestClient
from pymongo import AsyncMongoClient

from helpt_contracts.events import CrisisPurgeRequested
from helpt_contracts.roles import Role
from helpt_intake.catalogue import CatalogueStore, load_catalogue
from helpt_platform.auth import Refusal, issue_token
from helpt_platform.purge import carry_out_gdpr_command
from helpt_platform.testing import tenant_profiles_dir

pytestmark = pytest.mark.infra

TENANTS = ["leuven", "lubbeek", "bierbeek", "herent", "kortenberg"]
CONTACT = {"name": "Canary Catalogue", "phone": "0470 12 34 56"}
MASKS = {"code": "sewing-masks", "collective": False, "visit": False, "requirements": {"min_age": None, "competences": ["sewing"]},
         "texts": {"nl": {"title": "Mondmaskers naaien", "summary": "Thuis mondmaskers naaien.", "asks": "Je naait thuis maskers.",
                          "material": "Een naaimachine en stof.", "profile": "Je kunt naaien."},
                   "en": {"title": "Sewing face masks", "summary": "Sew face masks at home.", "asks": "You sew masks at home.",
                          "material": "A sewing machine and cloth.", "profile": "You can sew."},
                   "fr": {"title": "Coudre des masques", "summary": "Coudre des masques chez soi.", "asks": "Vous cousez des masques.",
                          "material": "Une machine à coudre et du tissu.", "profile": "Vous savez coudre."}}}


@pytest.fixture(scope="module")
def stack(intake_stack, ready_client, tmp_path_factory):
    profiles = tenant_profiles_dir(tmp_path_factory.mktemp("tenants"), *TENANTS[1:])
    with intake_stack("cat", common={"tenants": ",".join(TENANTS), "tenant_dir": profiles}) as (settings, _gdpr_url, secret), \
            ready_client(settings) as client:
        yield client, settings, secret


def bearer(secret: bytes, tenant: str, role: Role = Role.COORDINATOR, sub: str = "coordinator-7") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(secret, sub=sub, role=role, tenant=tenant)}"}


def offer(client: TestClient, tenant: str, task: str):
    return client.post("/api/v1/volunteers", json={
        "tenant": tenant, "tasks": [task], "postcode": "3000", "languages": ["nl"], "is_adult": True, "consent": True,
        "contact": CONTACT})


def titles(listing: list[dict]) -> dict[str, str]:
    return {v["code"]: v["title"] for v in listing}


def test_a_draft_is_previewed_without_touching_what_is_live_then_published_as_the_next_version(stack):
    client, _, secret = stack
    town, me = "lubbeek", bearer(secret, "lubbeek")
    live = lambda lang="nl": client.get("/api/v1/vacancies", params={"lang": lang, "tenant": town})  # noqa: E731
    assert titles(live().json())["shopping"] == "Boodschappen doen" and len(live().json()) == 12

    draft = copy.deepcopy(load_catalogue().content())
    draft["vacancies"] = [v for v in draft["vacancies"] if v["code"] != "letter-writing"] + [MASKS]
    draft["vacancies"][0]["texts"]["nl"]["title"] = "Boodschappen halen"
    saved = client.put("/api/v1/catalogue/draft", json=draft, headers=me)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2

    # While the draft waits, the public and the forms see and accept only the published version.
    assert titles(live().json())["shopping"] == "Boodschappen doen" and "sewing-masks" not in titles(live().json())
    refused = offer(client, town, "sewing-masks")
    assert refused.status_code == 422 and "unknown vacancy" in refused.text
    assert offer(client, town, "letter-writing").status_code == 202
    preview = client.get("/api/v1/catalogue/draft/vacancies", params={"lang": "en"}, headers=me)
    assert preview.status_code == 200 and titles(preview.json())["sewing-masks"] == "Sewing face masks"
    assert "letter-writing" not in titles(preview.json())
    masks = next(v for v in preview.json() if v["code"] == "sewing-masks")
    assert masks["requirements"] == {"min_age": None, "competences": ["sewing"]} and masks["asks"] == "You sew masks at home."
    assert client.get("/api/v1/catalogue/draft", headers=me).json()["vacancies"][-1]["code"] == "sewing-masks"

    published = client.post("/api/v1/catalogue/publish", json={}, headers=me)
    assert published.status_code == 200 and published.json() == {"version": 2}
    assert titles(live().json())["shopping"] == "Boodschappen halen"
    assert titles(live("fr").json())["sewing-masks"] == "Coudre des masques"
    assert offer(client, town, "sewing-masks").status_code == 202
    assert "unknown vacancy" in offer(client, town, "letter-writing").text
    assert client.get("/api/v1/catalogue/draft", headers=me).status_code == 404, "the draft is gone once published"
    history = client.get("/api/v1/catalogue/versions", headers=me).json()
    assert [(h["version"], h["editor"]) for h in history] == [(2, "coordinator-7"), (1, "shipped")]
    assert history[0]["published_at"] >= history[1]["published_at"]
    assert "letter-writing" in titles(load_catalogue().listing("nl"))
    first = client.get("/api/v1/catalogue/versions/1", headers=me).json()
    assert first["version"] == 1 and len(first["vacancies"]) == 12, "a published version stays as it was"

    # Another municipality's catalogue did not move.
    assert len(client.get("/api/v1/vacancies", params={"tenant": "herent"}).json()) == 12


def test_a_discarded_draft_leaves_nothing_to_preview_or_publish(stack):
    client, _, secret = stack
    me = bearer(secret, "bierbeek")
    live = client.get("/api/v1/catalogue/versions/1", headers=me).json()  # the README's way to start a draft
    assert client.put("/api/v1/catalogue/draft", json=live, headers=me).status_code == 200
    assert client.delete("/api/v1/catalogue/draft", headers=me).status_code == 204
    assert client.get("/api/v1/catalogue/draft/vacancies", headers=me).status_code == 404
    nothing = client.post("/api/v1/catalogue/publish", json={}, headers=me)
    assert nothing.status_code == 409 and "no draft" in nothing.text
    assert [h["version"] for h in client.get("/api/v1/catalogue/versions", headers=me).json()] == [1]


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/catalogue/draft"), ("PUT", "/api/v1/catalogue/draft"), ("DELETE", "/api/v1/catalogue/draft"),
    ("GET", "/api/v1/catalogue/draft/vacancies"), ("POST", "/api/v1/catalogue/publish"), ("GET", "/api/v1/catalogue/versions"),
])
def test_only_a_coordinator_edits_the_catalogue(stack, method, path):
    client, _, secret = stack
    body = {"json": load_catalogue().content()} if method in ("PUT", "POST") else {}
    assert client.request(method, path, **body).status_code == 401
    assert client.request(method, path, headers={"Authorization": "Bearer forged"}, **body).status_code == 401
    operator = client.request(method, path, headers=bearer(secret, "herent", Role.OPERATOR), **body)
    assert operator.status_code == 403 and "catalogue:edit" in operator.text
    assert client.get("/api/v1/catalogue/draft", headers=bearer(secret, "herent")).status_code == 404, "nothing was saved"


def test_bad_input_gets_a_clear_4xx_and_leaves_the_draft_as_it_was(stack):
    client, _, secret = stack
    me = bearer(secret, "kortenberg")
    good = load_catalogue().content()
    assert client.put("/api/v1/catalogue/draft", json=good, headers=me).status_code == 200
    incomplete = copy.deepcopy(good)
    del incomplete["vacancies"][3]["texts"]["en"]
    answer = client.put("/api/v1/catalogue/draft", json=incomplete, headers=me)
    assert answer.status_code == 422 and "vacancy dog-walking has no text in en" in answer.text
    for body in (["not", "a", "catalogue"], {"languages": ["nl"]}, {**good, "vacancies": [MASKS, MASKS]}):
        assert client.put("/api/v1/catalogue/draft", json=body, headers=me).status_code == 422
    assert client.put("/api/v1/catalogue/draft", content=b"{oops", headers={**me, "content-type": "application/json"}).status_code == 422
    assert client.put("/api/v1/catalogue/draft", content=b"languages=nl", headers={**me, "content-type": "text/plain"}).status_code == 415
    deep = b"[" * 100_000 + b"]" * 100_000  # deep, yet under the 256 KB body limit: the parser must refuse it
    assert client.put("/api/v1/catalogue/draft", content=deep, headers={**me, "content-type": "application/json"}).status_code == 422
    huge = b'{"languages": ["nl"], "vacancies": [' + b'{"code": "x"},' * 60_000 + b'{}]}'
    assert client.put("/api/v1/catalogue/draft", content=huge, headers={**me, "content-type": "application/json"}).status_code == 413
    assert len(client.get("/api/v1/catalogue/draft", headers=me).json()["vacancies"]) == 12

    unknown_language = client.get("/api/v1/vacancies", params={"lang": "de"})
    assert unknown_language.status_code == 422 and "nl, en, fr" in unknown_language.text
    assert client.get("/api/v1/catalogue/draft/vacancies", params={"lang": "xx"}, headers=me).status_code == 422
    unknown_town = client.get("/api/v1/vacancies", params={"tenant": "atlantis"})
    assert unknown_town.status_code == 422 and "unknown municipality" in unknown_town.text
    assert client.get("/api/v1/catalogue/versions/99", headers=me).status_code == 404
    stranger = client.get("/api/v1/catalogue/draft", headers=bearer(secret, "atlantis"))
    assert stranger.status_code == 403 and "does not serve" in stranger.text, "a coordinator of a town not served here"


def test_two_replicas_seed_once_and_two_publishes_of_one_draft_make_exactly_one_version(stack):
    _, settings, _ = stack

    async def race() -> None:
        client = AsyncMongoClient(settings.mongodb_url.get_secret_value())
        try:
            db = client[settings.database_name]
            town = f"race-{uuid.uuid4().hex[:6]}"
            a, b = CatalogueStore(db, [town]), CatalogueStore(db, [town])
            seeded = await asyncio.gather(a.published(town), b.published(town))
            assert [c.version for c in seeded] == [1, 1]
            await a.save_draft(town, {**load_catalogue().content(), "vacancies": [MASKS]}, "coordinator-1")
            outcomes = await asyncio.gather(a.publish(town, "coordinator-1"), b.publish(town, "coordinator-2"),
                                            return_exceptions=True)
            assert sorted(type(o).__name__ for o in outcomes) == ["Catalogue", "Refusal"], outcomes
            assert next(o for o in outcomes if isinstance(o, Refusal)).status == 409
            assert [p.version for p in await a.history(town)] == [2, 1]
            for replica in (a, b):  # the loser, too, no longer serves its cached version 1
                assert (await replica.published(town)).get("sewing-masks") is not None and await replica.draft(town) is None
        finally:
            await client.close()

    asyncio.run(race())


def test_the_crisis_purge_removes_the_municipalitys_catalogue_and_the_next_use_starts_from_the_shipped_one(stack):
    _, settings, _ = stack

    async def purge() -> None:
        client = AsyncMongoClient(settings.mongodb_url.get_secret_value())
        try:
            db = client[settings.database_name]
            town = f"purged-{uuid.uuid4().hex[:6]}"
            store = CatalogueStore(db, [town])
            await store.save_draft(town, {**load_catalogue().content(), "vacancies": [MASKS]}, "coordinator-1")
            await store.publish(town, "coordinator-1")
            await store.save_draft(town, load_catalogue().content(), "coordinator-1")
            receipts = []

            async def keep(receipt: object) -> None:
                receipts.append(receipt)

            await carry_out_gdpr_command(CrisisPurgeRequested(tenant=town, purge_id=uuid.uuid4(), approvals=2), db, keep,
                                         service=settings.service)
            assert receipts[0].counts["catalogue_versions"] == 2 and receipts[0].counts["catalogue_drafts"] == 1
            after = CatalogueStore(db, [town])  # a fresh process: no cache
            assert await after.draft(town) is None
            assert (await after.published(town)).version == 1 and [p.editor for p in await after.history(town)] == ["shipped"]
        finally:
            await client.close()

    asyncio.run(purge())
