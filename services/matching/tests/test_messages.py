"""Messages on the real stack: gdpr, matching and a mail catcher on real Kafka and FerretDB, personal data really sealed.

An offered volunteer gets one offer mail whose link works; the others hear the request was taken;
the address is revealed through gdpr (audited) and is nowhere in matching's logs or queue; a mail
that cannot go stays pending and goes once the SMTP server is back; the back office's one-click
messages reach an idle volunteer and a waiting requester.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pymongo import MongoClient

from helpt_contracts.events import Event, VolunteerApproved, VolunteerGuidelinesConfirmed
from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_contracts.roles import Role
from helpt_contracts.sealed import PersonalField
from helpt_gdpr.app import create_app as create_gdpr
from helpt_gdpr.settings import GdprSettings
from helpt_matching.app import create_app
from helpt_matching.settings import MatchingSettings
from helpt_platform.auth import issue_token, local_secret
from helpt_platform.gdpr_client import GdprClient
from helpt_platform.kafka import create_broker, publish_event
from helpt_platform.testing import CatcherHandle, eventually, mail_catcher, serve_in_thread

pytestmark = pytest.mark.infra

LINK = re.compile(r"https?://\S+/m/\S+")


@dataclass
class World:
    matching: TestClient
    app: FastAPI
    settings: MatchingSettings
    gdpr_url: str
    catcher: CatcherHandle
    secret: bytes
    mongodb_url: str

    def token(self, role: Role, sub: str) -> str:
        return issue_token(self.secret, sub=sub, role=role, tenant="leuven")

    def seal(self, fields: dict[PersonalField, str]) -> tuple[uuid.UUID, dict]:
        """Seal as intake does, through gdpr's API."""
        async def run():
            client = GdprClient(self.gdpr_url, lambda tenant: self.token(Role.SERVICE, "intake"))
            try:
                return await client.seal("leuven", fields)
            finally:
                await client.aclose()

        return asyncio.run(run())

    def publish(self, *events: Event) -> None:
        async def run() -> None:
            broker = create_broker(self.settings)
            await broker.start()
            try:
                for event in events:
                    await publish_event(broker, self.settings, event)
            finally:
                await broker.stop()

        asyncio.run(run())

    def documents(self, collection: str, query: dict | None = None) -> list[dict[str, Any]]:
        with MongoClient(self.mongodb_url, uuidRepresentation="standard") as mongo:
            return list(mongo[self.settings.database_name][collection].find(query or {}))

    def volunteer(self, email: str | None, name: str, *, task: str, languages: list[str], phone: str | None = None):
        """An approved volunteer (guidelines confirmed) with sealed personal data: (volunteer id, subject id)."""
        fields = {PersonalField.NAME: name, **({PersonalField.EMAIL: email} if email else {}),
                  **({PersonalField.PHONE: phone} if phone else {})}
        subject_id, sealed = self.seal(fields)
        registered = volunteer_registered(tasks=[task], postcode="3001", languages=languages, subject_id=subject_id, personal=sealed)
        case = uuid.uuid4()
        self.publish(registered,
                     VolunteerApproved(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case, reason="interview-ok"),
                     VolunteerGuidelinesConfirmed(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case,
                                                  guidelines_version="2026-03", confirmed_at=dt.datetime.now(dt.UTC)))
        eventually(lambda: self.documents("volunteers", {"_id": registered.volunteer_id, "eligible": True}), bool,
                   "the volunteer projected as eligible")
        return registered.volunteer_id, subject_id

    def audit(self, subject_id: uuid.UUID) -> list[dict]:
        answer = httpx.get(f"{self.gdpr_url}/api/v1/audit", params={"subject_id": str(subject_id)},
                           headers={"Authorization": f"Bearer {self.token(Role.DPO, 'dpo-1')}"})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def settled(self, ids: list[str]) -> list[dict]:
        """Wait until these queued messages are sent; the documents."""
        return eventually(lambda: self.documents("messages", {"_id": {"$in": ids}}),
                          lambda docs: len(docs) == len(ids) and all(d["status"] == "sent" for d in docs), f"{ids} sent")


@pytest.fixture(scope="module")
def world(infra, tmp_path_factory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("messages")
    run = uuid.uuid4().hex[:8]
    common = dict(kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url, topic_prefix=f"msg-{run}.",
                  jwt_secret_file=tmp / "jwt.secret", log_json=False)
    gdpr_settings = GdprSettings(**common, mongodb_database=f"helpt_gdpr_{run}", key_dir=tmp / "keys")
    with serve_in_thread(create_gdpr(gdpr_settings)) as gdpr_url, mail_catcher(tmp / "mail") as catcher:
        eventually(lambda: httpx.get(f"{gdpr_url}/readyz"), lambda r: r.status_code == 200, "gdpr ready", 60)
        settings = MatchingSettings(**common, mongodb_database=f"helpt_matching_{run}", link_secret_file=tmp / "links.secret",
                                    gdpr_url=gdpr_url, smtp_port=catcher.smtp_port, public_url="http://helpt.test",
                                    expiry_interval_s=0.5, relay_interval_s=0.5, messages_interval_s=0.3,
                                    message_retry_s=0.5, message_max_attempts=30)
        app = create_app(settings)
        with TestClient(app) as client:
            eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200, "matching ready", 60)
            yield World(client, app, settings, gdpr_url, catcher, local_secret(tmp / "jwt.secret"), infra.mongodb_url)


@pytest.fixture
def log_output(world) -> Iterator[io.StringIO]:
    """Every log line the services write during the test, rendered as they render it (the services configured logging
    before this test began, so capfd would not see their stream)."""
    stream, root = io.StringIO(), logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_the_offered_volunteers_get_one_mail_each_the_first_accepts_through_its_link_and_the_other_hears_it_is_taken(world, log_output):
    people = {"anna": ("anna.peeters@example.org", "Anna Peeters"), "bram": ("bram.janssens@example.org", "Bram Janssens")}
    anna, anna_subject = world.volunteer(*people["anna"], task="dog-walking", languages=["nl", "en"])
    bram, _ = world.volunteer(*people["bram"], task="dog-walking", languages=["en"])
    request = help_requested(task="dog-walking", postcode="3001", languages=["en"])
    world.publish(request)

    eventually(lambda: (world.catcher.mails(to=people["anna"][0]), world.catcher.mails(to=people["bram"][0])),
               lambda found: all(found), "an offer mail to each volunteer")
    [to_anna] = world.catcher.mails(to=people["anna"][0])
    assert to_anna.subject == "Kun je helpen? dog walking"  # Anna's first language
    assert "Iemand op 0,0 km van jou heeft hulp nodig: dog walking." in to_anna.text
    link = LINK.search(to_anna.text).group(0)
    assert link.startswith("http://helpt.test/m/")
    page = world.matching.get(link.removeprefix("http://helpt.test"))
    assert page.status_code == 200 and "An offer of help" in page.text
    accepted = world.matching.post(link.removeprefix("http://helpt.test"), data={"action": "accept"})
    assert accepted.status_code == 200 and "the match is yours" in accepted.text

    offers = world.documents("offers", {"request_id": request.request_id})
    by_volunteer = {o["volunteer_id"]: o["_id"] for o in offers}
    docs = world.settled([f"offer:{by_volunteer[anna]}", f"offer:{by_volunteer[bram]}", f"taken:{by_volunteer[bram]}"])
    assert [m.subject for m in world.catcher.mails(to=people["bram"][0])] == ["Can you help? dog walking",
                                                                              "Already taken: dog walking"]
    assert len(world.catcher.mails(to=people["anna"][0])) == 1  # the winner hears nothing more
    assert world.documents("messages", {"_id": f"taken:{by_volunteer[anna]}"}) == []
    # Every offer has been told what it calls for: the messages round no longer looks at any of them.
    eventually(lambda: world.documents("offers", {"request_id": request.request_id, "tell": True}), lambda left: left == [],
               "no offer of the request left to tell")

    reveals = [r for r in world.audit(anna_subject) if r["operation"] == "reveal"]
    assert reveals and all((r["purpose"], r["actor"], r["result"], r["categories"]) == ("volunteer-offer", "matching", "allowed", ["email"])
                           for r in reveals)

    output = log_output.getvalue()
    assert "message sent" in output and f"offer:{by_volunteer[anna]}" in output
    for email, name in people.values():
        for secret in (email, name):
            assert secret not in str(docs)
            assert secret not in output


def test_a_mail_that_cannot_go_stays_pending_and_goes_once_the_smtp_server_is_back(world):
    email = "carla.dubois@example.org"
    world.catcher.stop()
    try:
        carla, _ = world.volunteer(email, "Carla Dubois", task="shopping", languages=["fr"])
        request = help_requested(task="shopping", postcode="3001", languages=["fr"])
        world.publish(request)
        key = "offer:{}".format(eventually(lambda: world.documents("offers", {"request_id": request.request_id}), bool,
                                           "the offer")[0]["_id"])
        [waiting] = eventually(lambda: world.documents("messages", {"_id": key}),
                               lambda d: bool(d) and d[0]["attempts"] >= 1 and d[0]["last_error"] is not None,
                               "a failed attempt")  # (the attempt is counted before the send, its error kept after)
        assert (waiting["status"], waiting["last_error"]) == ("pending", "ConnectionRefusedError")
    finally:
        world.catcher.start()
    [mail] = eventually(lambda: world.catcher.mails(to=email), bool, "the mail once the server is back")
    assert mail.subject == "Pouvez-vous aider ? shopping"
    [sent] = world.settled([key])
    assert sent["last_error"] is None and sent["attempts"] >= 2
    assert len(world.catcher.mails(to=email)) == 1


def test_a_coordinator_tells_an_idle_volunteer_they_are_still_needed_and_a_waiting_requester_we_are_still_looking(world):
    messenger = world.app.state.messenger()
    email = "dirk.maes@example.org"
    dirk, _ = world.volunteer(email, "Dirk Maes", task="ironing", languages=["en"])
    phone_only, _ = world.volunteer(None, "Els Wouters", task="ironing", languages=["en"], phone="+32 470 11 22 33")
    assert world.matching.portal.call(messenger.still_needed, "leuven", dirk, "coord-1") is True
    assert world.matching.portal.call(messenger.still_needed, "leuven", dirk, "coord-1") is True  # a second click: one mail
    assert world.matching.portal.call(messenger.still_needed, "leuven", phone_only, "coord-1") is False  # no e-mail, SMS off
    assert world.matching.portal.call(messenger.still_needed, "leuven", uuid.uuid4(), "coord-1") is False

    requester_email = "francine.leroy@example.org"
    subject_id, sealed = world.seal({PersonalField.NAME: "Francine Leroy", PersonalField.EMAIL: requester_email})
    request = help_requested(task="ironing", postcode="3012", languages=["fr"], subject_id=subject_id, personal=sealed)
    world.publish(request)
    eventually(lambda: world.documents("requests", {"_id": request.request_id}), bool, "the request projected")
    assert world.matching.portal.call(messenger.remind_requester, "leuven", request.request_id, "coord-1") is True
    assert world.matching.portal.call(messenger.remind_requester, "leuven", uuid.uuid4(), "coord-1") is False

    [to_dirk] = eventually(lambda: world.catcher.mails(to=email), bool, "the still-needed mail")
    assert to_dirk.subject == "You are still needed" and "http" not in to_dirk.text
    [to_francine] = eventually(lambda: world.catcher.mails(to=requester_email), bool, "the reminder")
    assert to_francine.subject == "Nous cherchons encore un bénévole" and request.reference in to_francine.text
    assert [(r["purpose"], r["actor"], r["result"]) for r in world.audit(subject_id) if r["operation"] == "reveal"] == [
        ("case-follow-up", "matching", "allowed")]
    queued = world.documents("messages", {"kind": {"$in": ["still_needed", "reminder"]}})
    assert sorted(d["kind"] for d in queued) == ["reminder", "still_needed"]
    assert all(d["requested_by"] == "coord-1" for d in queued)
