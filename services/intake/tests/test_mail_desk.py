"""Mail to the help address on the real stack: SMTP in, sealed draft, operator opens (audited at gdpr), confirms once."""

from __future__ import annotations

import logging
import smtplib
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from email import policy
from email.message import EmailMessage

import httpx
import pytest
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient

from helpt_contracts.events import HelpRequested, MailOutcome, MailReceived, MailTriaged
from helpt_contracts.roles import Role
from helpt_contracts.types import Channel
from helpt_intake.settings import IntakeSettings
from helpt_intake.triage import COLLECTION
from helpt_platform.auth import issue_token
from helpt_platform.testing import eventually, free_port, topic_events

pytestmark = pytest.mark.infra

HELP = "help@leuven.helpt.local"
REQUEST = {"task": "shopping", "postcode": "3010", "languages": ["nl"], "consent": True}



def canary() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"name": f"Canary Mailname {tag}", "email": f"canary.{tag}@example.org",
            "subject": f"Canary subject {tag}", "body": f"Canary body {tag}: mijn vader valt vaak, insuline in de koelkast."}


def mail_of(c: dict[str, str], to: str = HELP) -> bytes:
    message = EmailMessage()
    message["From"] = f"{c['name']} <{c['email']}>"
    message["To"] = to
    message["Subject"] = c["subject"]
    message.set_content(c["body"])
    return message.as_bytes(policy=policy.SMTP)  # CRLF line ends, as on the wire


def send(port: int, raw: bytes, to: str = HELP, sender: str = "someone@example.org") -> tuple[int, str]:
    """Send one mail; the DATA reply (code, text), or the refusal's code and text."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail(sender)
        code, reply = smtp.rcpt(to)
        if code != 250:
            return code, reply.decode()
        code, reply = smtp.data(raw)
        return code, reply.decode()


def mail_id_of(reply: str) -> uuid.UUID:
    return uuid.UUID(reply.split("Received as ")[1].split(";")[0])



class Records(logging.Handler):
    """Every log record, as everything it holds (message, event dict, arguments)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(repr(record.__dict__))


@pytest.fixture(scope="module")
def desk(intake_stack, ready_client):
    with intake_stack("m", smtp_port=free_port(), max_mail_bytes=32 * 1024) as (settings, gdpr_url, secret), \
            ready_client(settings) as client:
        records = Records()
        logging.getLogger().addHandler(records)
        try:
            yield Desk(client, settings, gdpr_url, secret, records)
        finally:
            logging.getLogger().removeHandler(records)


class Desk:
    def __init__(self, client, settings, gdpr_url, secret, records):
        self.client, self.settings, self.gdpr_url, self.secret, self.records = client, settings, gdpr_url, secret, records

    def auth(self, role: Role = Role.OPERATOR, sub: str = "operator-anna", tenant: str = "leuven") -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.secret, sub=sub, role=role, tenant=tenant)}"}

    def post(self, path: str, body: dict | None = None, **auth) -> httpx.Response:
        return self.client.post(f"/api/v1/mail{path}", json=body or {}, headers=self.auth(**auth))

    def stored(self, mail_id: uuid.UUID | None = None) -> list:
        with MongoClient(self.settings.mongodb_url.get_secret_value(), uuidRepresentation="standard",
                         document_class=RawBSONDocument) as mongo:
            found = mongo[self.settings.database_name][COLLECTION].find({"_id": mail_id} if mail_id else {})
            return list(found)

    def open_when_gdpr_knows(self, mail_id: uuid.UUID) -> httpx.Response:
        # gdpr learns of the mail from Kafka, a moment after it was received.
        return eventually(lambda: self.post(f"/{mail_id}/open"), lambda r: r.status_code != 403, "gdpr to know the mail")


def test_a_mail_becomes_one_open_draft_sealed_in_the_store_on_kafka_and_in_the_logs(desk):
    c = canary()
    raw = mail_of(c)
    code, reply = send(desk.settings.smtp_port, raw)
    assert code == 250, reply
    mail_id = mail_id_of(reply)

    listed = desk.client.get("/api/v1/mail", headers=desk.auth()).json()
    mine = [m for m in listed if m["id"] == str(mail_id)]
    assert len(mine) == 1 and mine[0]["attachments"] == 0
    assert mine[0]["size"] == len(raw)
    assert not any(v in str(listed) for v in c.values())

    stored = desk.stored(mail_id)
    assert len(stored) == 1
    document = stored[0].raw
    assert str(mail_id).encode() not in document and mail_id.bytes in document, "positive control: it is the mail"
    assert not any(v.encode() in document for v in c.values()), "plaintext in the store"
    assert b"ciphertext" in document and b"open" in document

    received = [(raw_event, e) for raw_event, e in topic_events(desk.settings, MailReceived.TOPIC)
                if isinstance(e, MailReceived) and e.mail_id == mail_id]
    assert len(received) == 1
    assert str(mail_id).encode() in received[0][0], "positive control: the raw event names the mail"
    assert not any(v.encode() in received[0][0] for v in c.values()), "plaintext on Kafka"

    logged = "\n".join(desk.records.seen)
    assert str(mail_id) in logged, "positive control: the mail's arrival is logged"
    assert not any(v in logged for v in c.values()), "plaintext in a log line"

    opened = desk.open_when_gdpr_knows(mail_id)  # positive control: the sealed draft holds the canary
    assert opened.status_code == 200, opened.text
    assert (opened.json()["name"], opened.json()["email"]) == (c["name"], c["email"])
    assert opened.json()["note"] == f"Subject: {c['subject']}\n\n{c['body']}"


def test_an_operator_opens_a_mail_audited_in_their_name_and_confirms_it_as_exactly_one_help_request(desk):
    c = canary()
    code, reply = send(desk.settings.smtp_port, mail_of(c))
    assert code == 250, reply
    mail_id = mail_id_of(reply)
    assert desk.open_when_gdpr_knows(mail_id).status_code == 200

    dpo = {"Authorization": f"Bearer {issue_token(desk.secret, sub='dpo-1', role=Role.DPO, tenant='leuven')}"}
    audit = httpx.get(f"{desk.gdpr_url}/api/v1/audit", params={"actor": "operator-anna"}, headers=dpo).json()
    assert any(r["operation"] == "reveal" and r["result"] == "allowed" and r["purpose"] == "mail-triage"
               and r["action"] == {"kind": "mail", "id": str(mail_id)} for r in audit), audit
    assert not any(v in str(audit) for v in c.values())

    body = {**REQUEST, "contact": {"name": c["name"], "email": c["email"], "note": "boodschappen op dinsdag"}}
    first = desk.post(f"/{mail_id}/help-request", body)
    assert first.status_code == 202, first.text
    second = desk.post(f"/{mail_id}/help-request", body)
    assert second.status_code == 409, second.text
    assert desk.post(f"/{mail_id}/volunteer", {"tasks": ["shopping"], "postcode": "3000", "languages": ["nl"],
                                               "is_adult": True, "consent": True, "contact": body["contact"]}).status_code == 409

    published = [e for _, e in topic_events(desk.settings, HelpRequested.TOPIC) if e.reference == first.json()["reference"]]
    assert len(published) == 1 and published[0].channel is Channel.EMAIL and published[0].task == "shopping"
    assert published[0].entered_by == "operator-anna"
    sender = next(e for _, e in topic_events(desk.settings, MailReceived.TOPIC) if getattr(e, "mail_id", None) == mail_id)
    assert published[0].subject_id == sender.subject_id, "the sender and the requester are one person at gdpr"
    triaged = [e for _, e in topic_events(desk.settings, MailTriaged.TOPIC) if isinstance(e, MailTriaged) and e.mail_id == mail_id]
    assert len(triaged) == 1 and triaged[0].outcome is MailOutcome.REQUEST and str(triaged[0].case_id) == first.json()["id"]
    assert str(mail_id) not in str(desk.client.get("/api/v1/mail", headers=desk.auth()).json())
    assert desk.post(f"/{mail_id}/open").status_code == 409


def test_a_discarded_mail_can_no_longer_be_opened_even_at_gdpr(desk):
    code, reply = send(desk.settings.smtp_port, mail_of(canary()))
    mail_id = mail_id_of(reply)
    assert desk.open_when_gdpr_knows(mail_id).status_code == 200
    with MongoClient(desk.settings.mongodb_url.get_secret_value(), uuidRepresentation="standard") as mongo:
        draft = mongo[desk.settings.database_name][COLLECTION].find_one({"_id": mail_id})
    reveal = {"tenant": "leuven", "subject_id": str(draft["subject_ids"][0]), "purpose": "mail-triage",
              "action": {"kind": "mail", "id": str(mail_id)}, "sealed": draft["personal"]}
    assert httpx.post(f"{desk.gdpr_url}/api/v1/reveal", json=reveal, headers=desk.auth()).status_code == 200

    discarded = desk.post(f"/{mail_id}/discard")
    assert discarded.status_code == 200 and discarded.json() == {"id": str(mail_id), "outcome": "discarded"}
    assert desk.post(f"/{mail_id}/discard").status_code == 409
    assert desk.post(f"/{mail_id}/open").status_code == 409
    eventually(lambda: httpx.post(f"{desk.gdpr_url}/api/v1/reveal", json=reveal, headers=desk.auth()),
               lambda r: r.status_code == 403 and "closed" in r.text, "gdpr to refuse the triaged mail")
    assert b"personal" not in desk.stored(mail_id)[0].raw, "the sealed text is dropped once triaged"


def test_mail_to_an_address_that_is_not_a_help_address_is_refused_with_550(desk):
    before = len(desk.stored())
    code, reply = send(desk.settings.smtp_port, mail_of(canary(), to="ceo@leuven.helpt.local"), to="ceo@leuven.helpt.local")
    assert code == 550, reply
    assert len(desk.stored()) == before


def test_a_mail_over_the_size_limit_is_refused_with_552(desk):
    c = canary()
    before = len(desk.stored())
    big = mail_of({**c, "body": c["body"] + "\n" + "\n".join(["nog een regel tekst"] * 3000)})
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # smtplib announces the SIZE up front
        with smtplib.SMTP("127.0.0.1", desk.settings.smtp_port, timeout=30) as smtp:
            smtp.sendmail("someone@example.org", [HELP], big)
    assert refused.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", desk.settings.smtp_port, timeout=30) as smtp:  # and without SIZE, at DATA
        smtp.helo()
        smtp.mail("someone@example.org")
        smtp.rcpt(HELP)
        assert smtp.data(big)[0] == 552
    assert len(desk.stored()) == before


@pytest.mark.parametrize("who, path, status", [
    (None, "", 401), ({"role": Role.CITIZEN}, "", 403), ({"role": Role.SCREENER}, "", 403),
    ({}, f"/{uuid.uuid4()}/open", 404), ({}, f"/{uuid.uuid4()}/discard", 404), ({}, "/not-a-uuid/open", 422),
], ids=["no-token", "citizen", "screener", "unknown-open", "unknown-discard", "bad-id"])
def test_the_mail_desk_is_for_operators_and_unknown_mails_are_404(desk, who, path, status):
    headers = desk.auth(**who) if who is not None else {}
    answer = (desk.client.get("/api/v1/mail", headers=headers) if path == "" else
              desk.client.post(f"/api/v1/mail{path}", json={}, headers=headers))
    assert answer.status_code == status, answer.text


def test_bad_input_to_a_confirmation_is_a_4xx_and_leaves_the_mail_open(desk):
    code, reply = send(desk.settings.smtp_port, mail_of(canary()))
    mail_id = mail_id_of(reply)
    contact = {"name": "Canary", "email": "canary@example.org"}
    for body in ({**REQUEST, "task": "juggling", "contact": contact}, {**REQUEST, "contact": {"name": "no way to reach"}},
                 {**REQUEST, "tenant": "heverlee", "contact": contact}):
        answer = desk.post(f"/{mail_id}/help-request", body)
        assert 400 <= answer.status_code < 500, answer.text
        assert "Canary" not in answer.text
    assert str(mail_id) in str(desk.client.get("/api/v1/mail", headers=desk.auth()).json())


def test_when_gdpr_is_down_mail_is_deferred_with_451_and_nothing_is_kept(infra, tmp_path, ready_client):
    run = uuid.uuid4().hex[:8]
    settings = IntakeSettings(kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url,
                              topic_prefix=f"md-{run}.", mongodb_database=f"helpt_intake_{run}",
                              gdpr_url="http://127.0.0.1:1", jwt_secret_file=tmp_path / "jwt.secret",
                              log_json=False, smtp_port=free_port())
    with ready_client(settings):
        code, reply = send(settings.smtp_port, mail_of(canary()))
    assert code == 451, reply
    assert "Canary" not in reply
    with pytest.raises(ConnectionRefusedError):  # the SMTP server stopped with the service
        socket.create_connection(("127.0.0.1", settings.smtp_port), timeout=5).close()
    with MongoClient(infra.mongodb_url) as mongo:
        assert mongo[settings.database_name][COLLECTION].count_documents({}) == 0
    assert topic_events(settings, MailReceived.TOPIC) == []


def test_two_operators_confirming_at_once_publish_one_request_and_one_of_them_hears_409(desk):
    code, reply = send(desk.settings.smtp_port, mail_of(canary()))
    mail_id = mail_id_of(reply)
    body = {**REQUEST, "contact": {"name": "Canary Twice", "phone": "0470 12 34 56"}}
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda sub: desk.post(f"/{mail_id}/help-request", body, sub=sub), ["op-1", "op-2"]))
    assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
    case_id = next(a.json()["id"] for a in answers if a.status_code == 202)
    published = [e for _, e in topic_events(desk.settings, HelpRequested.TOPIC) if str(e.request_id) == case_id]
    assert len(published) == 1
    triaged = [e for _, e in topic_events(desk.settings, MailTriaged.TOPIC) if isinstance(e, MailTriaged) and e.mail_id == mail_id]
    assert len(triaged) == 1


def test_erasing_the_sender_at_gdpr_removes_the_mail_from_intakes_store(desk):
    code, reply = send(desk.settings.smtp_port, mail_of(canary()))
    mail_id = mail_id_of(reply)
    with MongoClient(desk.settings.mongodb_url.get_secret_value(), uuidRepresentation="standard") as mongo:
        subject_id = mongo[desk.settings.database_name][COLLECTION].find_one({"_id": mail_id})["subject_ids"][0]
    dpo = {"Authorization": f"Bearer {issue_token(desk.secret, sub='dpo-1', role=Role.DPO, tenant='leuven')}"}
    erased = httpx.post(f"{desk.gdpr_url}/api/v1/subjects/{subject_id}/erasure", json={"subject_kind": "requester"}, headers=dpo)
    assert erased.status_code == 202, erased.text
    eventually(lambda: desk.stored(mail_id), lambda found: found == [], "intake to delete the erased sender's mail")
    assert str(mail_id) not in str(desk.client.get("/api/v1/mail", headers=desk.auth()).json())
