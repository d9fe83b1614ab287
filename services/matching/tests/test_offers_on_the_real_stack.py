"""Offers on real Kafka and FerretDB: who is offered, rotation after expiry, one winner, forged links, partner feeds,
the outbox across a Kafka outage, matches ended by a cancelled request or a departed volunteer."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from confluent_kafka import Consumer

from helpt_contracts import topics
from helpt_contracts.events import (
    HelpRequestCancelled,
    MatchAccepted,
    MatchCancelled,
    MatchDeclined,
    MatchProposed,
    RequestCancellationReason,
    VolunteerApproved,
    VolunteerDecisionReversed,
    VolunteerGuidelinesConfirmed,
    VolunteerRejected,
    VolunteerSuspended,
    VolunteerWithdrawn,
    WithdrawalReason,
)
from helpt_contracts.examples import help_requested, volunteer_registered
from helpt_localstack.stack import LocalStack
from helpt_platform.testing import eventually

pytestmark = pytest.mark.infra


def approved_dog_walker(**overrides):
    """An English-speaking dog walker in Heverlee, approved, guidelines confirmed: (events, volunteer id)."""
    registered = volunteer_registered(tasks=["dog-walking"], postcode="3001", languages=["en"], **overrides)
    case = uuid.uuid4()
    return [registered,
            VolunteerApproved(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case, reason="interview-ok"),
            VolunteerGuidelinesConfirmed(tenant="leuven", volunteer_id=registered.volunteer_id, case_id=case,
                                         guidelines_version="2026-03", confirmed_at=dt.datetime.now(dt.UTC))], registered.volunteer_id


def path(link: str) -> str:
    """The link's path: the test serves matching on a port of its own, not the public URL's."""
    return "/m/" + link.split("/m/", 1)[1]


def dog_walk(**overrides):
    return help_requested(task="dog-walking", postcode="3001", languages=["en"], **overrides)


def settle(service, volunteers: int) -> None:
    """Wait until the volunteers are projected (a request arriving first would find nobody yet)."""
    async def count() -> int:
        from pymongo import AsyncMongoClient

        client = AsyncMongoClient(service.settings.mongodb_url.get_secret_value())
        try:
            return await client[service.settings.database_name]["volunteers"].count_documents({"eligible": True})
        finally:
            await client.close()

    eventually(lambda: asyncio.run(count()), lambda n: n >= volunteers, f"{volunteers} eligible volunteers")


def test_approved_english_dog_walker_in_heverlee_is_offered_the_request_and_a_rejected_one_never(matching):
    service = matching()
    events, approved = approved_dog_walker()
    rejected_reg = volunteer_registered(tasks=["dog-walking"], postcode="3001", languages=["en"])
    rejected = [rejected_reg, VolunteerRejected(tenant="leuven", volunteer_id=rejected_reg.volunteer_id,
                                                case_id=uuid.uuid4(), reason="safety-concern")]
    service.publish(*events, *rejected)
    settle(service, 1)
    request = dog_walk()
    service.publish(request)
    offers = service.wait_offers(request.request_id, lambda o: len(o) >= 1, "an offer")
    assert [o["volunteer_id"] for o in offers] == [str(approved)]
    service.publish(request)  # a redelivery makes no second round
    proposed = eventually(lambda: [e for _, e in service.events_on(topics.MATCHES) if isinstance(e, MatchProposed)],
                          lambda found: len(found) >= 1, "MatchProposed on the topic")
    assert [(e.volunteer_id, e.task, e.distance_km) for e in proposed] == [(approved, "dog-walking", 0.0)]
    assert all(e.volunteer_id != rejected_reg.volunteer_id for e in proposed)
    assert len(service.offers(request.request_id)["offers"]) == 1


def test_an_unanswered_offer_expires_and_rotates_to_the_next_volunteer(matching):
    service = matching(offer_ttl_s=2, offers_per_round=1)
    first, first_id = approved_dog_walker()
    second, second_id = approved_dog_walker()
    service.publish(*first, *second)
    settle(service, 2)
    request = dog_walk()
    service.publish(request)
    offers = service.wait_offers(request.request_id, lambda o: len(o) == 2 and o[0]["status"] == "expired",
                                 "the offer to expire and go to the next volunteer")
    assert {offers[0]["volunteer_id"], offers[1]["volunteer_id"]} == {str(first_id), str(second_id)}
    assert [o["round"] for o in offers] == [1, 2]
    lapsed = service.client.post(path(offers[0]["link"]), data={"action": "accept"})
    assert lapsed.status_code == 409 and "expired" in lapsed.text
    declined = [e for _, e in service.events_on(topics.MATCHES) if isinstance(e, MatchDeclined)]
    assert [(str(e.volunteer_id), e.reason.value) for e in declined][:1] == [(offers[0]["volunteer_id"], "expired")]


def test_two_simultaneous_accepts_make_one_match_and_the_other_hears_it_is_taken(matching):
    service = matching()
    walkers = [approved_dog_walker() for _ in range(2)]
    service.publish(*[e for events, _ in walkers for e in events])
    settle(service, 2)
    request = dog_walk()
    service.publish(request)
    offers = service.wait_offers(request.request_id, lambda o: len(o) == 2, "two offers")

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*(client.post(service.url + path(o["link"]), data={"action": "accept"}) for o in offers))

    answers = asyncio.run(both())
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert "first" in answers[[a.status_code for a in answers].index(409)].text
    after = service.offers(request.request_id)
    assert after["matched"] and sorted(o["status"] for o in after["offers"]) == ["accepted", "taken"]
    events = eventually(lambda: service.events_on(topics.MATCHES),
                        lambda found: sum(isinstance(e, MatchDeclined) for _, e in found) == 1, "the taken notice")
    assert sum(isinstance(e, MatchAccepted) for _, e in events) == 1
    assert [e.reason.value for _, e in events if isinstance(e, MatchDeclined)] == ["taken-by-another"]
    again = service.client.post(path(offers[0]["link"]), data={"action": "accept"})
    assert again.status_code in (200, 409)  # the winner sees it is theirs; the other still 409 — nothing changes
    assert sorted(o["status"] for o in service.offers(request.request_id)["offers"]) == ["accepted", "taken"]
    winner = next(o for o in offers if o["volunteer_id"] in {o2["volunteer_id"] for o2 in after["offers"]
                                                             if o2["status"] == "accepted"})
    done = service.client.post(path(winner["link"]), data={"action": "done"})
    assert done.status_code == 200 and "done" in done.text


def test_a_forged_or_altered_link_is_refused_and_changes_nothing(matching):
    service = matching()
    events, _ = approved_dog_walker()
    service.publish(*events)
    settle(service, 1)
    request = dog_walk()
    service.publish(request)
    link = service.wait_offers(request.request_id, lambda o: len(o) == 1, "an offer")[0]["link"]
    altered = link.replace(link.split("/m/")[1][:8], "00000000")
    for bad in (altered, link[:-3] + "abc", f"{service.url}/m/not-a-link"):
        assert service.client.post(path(bad), data={"action": "accept"}).status_code == 403
        assert service.client.get(path(bad)).status_code == 403
    assert service.client.post(path(link), data={"action": "maybe"}).status_code == 422
    assert service.offers(request.request_id)["offers"][0]["status"] == "open"
    page = service.client.get(path(link))
    assert page.status_code == 200 and "dog-walking" in page.text and 'name="action" value="accept"' in page.text


def read_with_librdkafka(bootstrap: str, topic: str, settled: Callable[[list[tuple[str, bytes]]], bool]) -> list[tuple[str, bytes]]:
    """(ce_type, value) of the records on `topic`, read by librdkafka (confluent-kafka) — a client independent of
    the services' aiokafka, as kcat is — in a consumer group of its own, from the earliest offset."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"independent-{uuid.uuid4().hex[:8]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    records: list[tuple[str, bytes]] = []

    def take(message) -> None:
        if message is not None and message.error() is None:
            records.append((dict(message.headers() or []).get("ce_type", b"").decode(), message.value()))

    try:
        give_up = time.monotonic() + 90
        while not settled(records) and time.monotonic() < give_up:
            take(consumer.poll(1.0))
        time.sleep(2)  # anything that should not be there would have arrived with what should
        while (message := consumer.poll(0.5)) is not None:
            take(message)
    finally:
        consumer.close()
    return records


def test_a_partner_reads_only_its_own_matches_on_its_topic_without_personal_data(matching):
    service = matching()
    events, volunteer = approved_dog_walker()
    other_events, _ = approved_dog_walker()
    service.publish(*events, *other_events)
    settle(service, 2)
    ours = dog_walk(organisation="wzc-ter-linde")
    theirs = dog_walk(organisation="ocmw-kessel-lo")
    private = help_requested(task="dog-walking", postcode="3001", languages=["en"])
    service.publish(ours, theirs, private)
    for request in (ours, theirs):
        link = service.wait_offers(request.request_id, lambda o: len(o) >= 1, "an offer")[0]["link"]
        assert service.client.post(path(link), data={"action": "accept"}).status_code == 200

    # The service's own view (aiokafka, decoded with the contracts) ...
    feed = eventually(lambda: service.events_on(topics.partner_topic("wzc-ter-linde")),
                      lambda found: any(isinstance(e, MatchAccepted) for _, e in found), "the partner's match")
    assert {type(e).__name__ for _, e in feed} >= {"MatchProposed", "MatchAccepted"}
    assert all(e.request_id == ours.request_id and e.organisation == "wzc-ter-linde" for _, e in feed)

    # ... and what a partner's own consumer, another Kafka client altogether, reads off its topic.
    topic = service.settings.topic(topics.partner_topic("wzc-ter-linde"))
    raw = read_with_librdkafka(service.settings.kafka_bootstrap_servers, topic,
                               lambda records: any(kind.endswith("MatchAccepted.v1") for kind, _ in records))
    assert {kind.rsplit(".", 2)[-2] for kind, _ in raw} >= {"MatchProposed", "MatchAccepted"}
    bodies = [json.loads(value) for _, value in raw]
    assert {body["request_id"] for body in bodies} == {str(ours.request_id)}, \
        "only this partner's request: not the other partner's, not a citizen's"
    assert {body["organisation"] for body in bodies} == {"wzc-ter-linde"}
    for _, value in raw:
        assert b"ciphertext" not in value and b"personal" not in value and b"subject_id" not in value


@pytest.fixture
def own_kafka(infra, tmp_path):
    stack = LocalStack(tmp_path / "stack", kafka_port=0, kafka_controller_port=0, mongodb_port=0)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def test_an_accept_while_kafka_is_stopped_answers_and_is_published_once_after_it_restarts(own_kafka, matching):
    service = matching(kafka_bootstrap_servers=own_kafka.bootstrap_servers)
    events, volunteer = approved_dog_walker()
    service.publish(*events)
    settle(service, 1)
    request = dog_walk(organisation="wzc-ter-linde")
    service.publish(request)
    link = service.wait_offers(request.request_id, lambda o: len(o) == 1, "an offer")[0]["link"]
    eventually(lambda: service.events_on(topics.MATCHES), lambda found: any(isinstance(e, MatchProposed) for _, e in found),
               "the offer published")

    own_kafka.stop()  # Kafka (and this stack's unused FerretDB) go down; the store stays up
    answer = service.client.post(path(link), data={"action": "accept"})
    assert answer.status_code == 200 and "yours" in answer.text
    assert service.offers(request.request_id)["offers"][0]["status"] == "accepted"

    own_kafka.start()  # same ports, same data directory
    for topic in (topics.MATCHES, topics.partner_topic("wzc-ter-linde")):
        found = eventually(lambda topic=topic: service.events_on(topic),
                           lambda found: any(isinstance(e, MatchAccepted) for _, e in found),
                           f"MatchAccepted on {topic} after Kafka restarted", seconds=180)
        accepted = [(r, e) for r, e in found if isinstance(e, MatchAccepted)]
        assert len(accepted) == 1 and accepted[0][1].volunteer_id == volunteer
    time.sleep(3)  # a relay that marked nothing would have sent it again by now
    assert sum(isinstance(e, MatchAccepted) for _, e in service.events_on(topics.MATCHES)) == 1


def accepted_and_open(service, volunteer):
    """The volunteer accepts one request and holds an open offer of another: (accepted request, open request)."""
    first, second = dog_walk(), dog_walk()
    service.publish(first)
    link = service.wait_offers(first.request_id, lambda o: len(o) == 1, "the first offer")[0]["link"]
    assert service.client.post(path(link), data={"action": "accept"}).status_code == 200
    service.publish(second)
    offers = service.wait_offers(second.request_id, lambda o: len(o) == 1, "the second offer")
    assert offers[0]["volunteer_id"] == str(volunteer) and offers[0]["status"] == "open"
    return first, second


def endings(service, volunteer) -> list[tuple[str, str, str]]:
    """(event, request, reason) of the MatchCancelled and MatchDeclined published for the volunteer."""
    return sorted((type(e).__name__, str(e.request_id), e.reason.value) for _, e in service.events_on(topics.MATCHES)
                  if isinstance(e, (MatchCancelled, MatchDeclined)) and e.volunteer_id == volunteer)


def test_a_cancelled_request_calls_off_its_match_and_withdraws_its_offers_once_each(matching):
    service = matching()
    events, volunteer = approved_dog_walker()
    service.publish(*events)
    settle(service, 1)
    first, second = accepted_and_open(service, volunteer)
    cancels = [HelpRequestCancelled(tenant="leuven", request_id=r.request_id, reason=RequestCancellationReason.NO_LONGER_NEEDED)
               for r in (first, second)]
    service.publish(*cancels, *cancels)  # told twice: ends each once
    expected = sorted([("MatchCancelled", str(first.request_id), "request-cancelled"),
                       ("MatchDeclined", str(second.request_id), "expired")])
    eventually(lambda: endings(service, volunteer), lambda found: len(found) >= 2, "the match and the offer ended")
    time.sleep(2)  # room for a (wrong) second ending
    assert endings(service, volunteer) == expected
    assert service.offers(first.request_id)["offers"][0]["status"] == "cancelled"
    assert service.offers(second.request_id)["offers"][0]["status"] == "withdrawn"


@pytest.mark.parametrize(("departure", "reason"), [
    (lambda v: VolunteerSuspended(tenant="leuven", volunteer_id=v, case_id=uuid.uuid4(), reason="complaint-received"),
     "volunteer-suspended"),
    (lambda v: VolunteerDecisionReversed(tenant="leuven", volunteer_id=v, case_id=uuid.uuid4(), reason="decision-reversed",
                                         reversed_decision="approved"), "volunteer-suspended"),
    (lambda v: VolunteerWithdrawn(tenant="leuven", volunteer_id=v, reason=WithdrawalReason.VOLUNTEER_WITHDREW),
     "volunteer-withdrawn"),
], ids=["suspended", "reversed", "withdrawn"])
def test_a_departed_volunteers_match_is_called_off_and_their_offers_withdrawn_once_each(matching, departure, reason):
    service = matching()
    events, volunteer = approved_dog_walker()
    service.publish(*events)
    settle(service, 1)
    first, second = accepted_and_open(service, volunteer)
    gone = departure(volunteer)
    service.publish(gone, gone)  # told twice: ends each once
    expected = sorted([("MatchCancelled", str(first.request_id), reason), ("MatchDeclined", str(second.request_id), "expired")])
    eventually(lambda: endings(service, volunteer), lambda found: len(found) >= 2, "the match and the offer ended")
    time.sleep(2)
    assert endings(service, volunteer) == expected
    assert service.offers(first.request_id)["offers"][0]["status"] == "cancelled"
    assert service.offers(second.request_id)["offers"][0]["status"] == "withdrawn"
    link = service.offers(first.request_id)["offers"][0]["link"]
    assert "called off" in service.client.get(path(link)).text
    assert service.client.post(path(link), data={"action": "done"}).status_code == 409

    # The request still needs a dog walker: the next approved one is offered it, and can take it.
    events, replacement = approved_dog_walker()
    service.publish(*events)
    offers = service.wait_offers(first.request_id, lambda o: any(x["volunteer_id"] == str(replacement) for x in o),
                                 "the request offered again after its volunteer left")
    again = next(o for o in offers if o["volunteer_id"] == str(replacement))
    assert service.client.post(path(again["link"]), data={"action": "accept"}).status_code == 200
