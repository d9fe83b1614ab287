import base64
import uuid

import pytest
from pydantic import ValidationError

from helpt_contracts import topics
from helpt_contracts.events import Event, HelpRequested, MatchProposed, event_class, event_classes
from helpt_contracts.sealed import SealedField
from helpt_contracts.types import TimeWindow

from helpt_contracts.examples import help_requested, sealed, volunteer_registered

DESIGN_EVENTS = {
    topics.HELP_REQUESTS: {"HelpRequested", "HelpRequestUpdated", "HelpRequestCancelled"},
    topics.VOLUNTEERS: {"VolunteerRegistered", "VolunteerUpdated", "VolunteerWithdrawn"},
    topics.MAIL: {"MailReceived", "MailTriaged"},
    topics.SCREENING_DECISIONS: {"VolunteerApproved", "VolunteerRejected", "VolunteerSuspended", "VolunteerDecisionReversed",
                                 "VolunteerGuidelinesConfirmed"},
    topics.MATCHES: {"MatchProposed", "MatchAccepted", "MatchDeclined", "MatchCompleted", "MatchCancelled"},
    topics.GDPR_COMMANDS: {"SubjectErasureRequested", "CrisisPurgeRequested", "SubjectAccessRequested"},
    topics.GDPR_RECEIPTS: {"PurgeCompleted", "SubjectDataExported"},
}


def test_every_event_of_the_design_exists_on_its_topic():
    found: dict[str, set[str]] = {}
    for model in event_classes():
        found.setdefault(model.TOPIC, set()).add(model.__name__)
    assert found == DESIGN_EVENTS


@pytest.mark.parametrize("model", event_classes(), ids=lambda m: m.__name__)
def test_every_field_is_described_for_the_asyncapi_docs(model: type[Event]):
    schema = model.model_json_schema()
    undocumented = [name for name, prop in schema["properties"].items() if not prop.get("description")]
    assert undocumented == []
    assert model.__doc__, "the docstring becomes the message summary"


@pytest.mark.parametrize("model", event_classes(), ids=lambda m: m.__name__)
def test_every_event_carries_a_tenant(model: type[Event]):
    assert "tenant" in model.model_json_schema()["required"]


def test_the_key_is_the_aggregate_id_so_one_requests_events_stay_in_order():
    event = help_requested()
    assert event.key() == str(event.request_id).encode()
    match = MatchProposed(
        tenant="leuven", match_id=uuid.uuid4(), request_id=event.request_id, volunteer_id=uuid.uuid4(),
        task="shopping", distance_km=1.2, offer_round=1, expires_at="2026-11-22T18:00:00+01:00",
    )
    assert match.key() == event.key()


def test_an_event_type_finds_its_model():
    assert event_class("be.helpt.HelpRequested.v1") is HelpRequested
    with pytest.raises(LookupError):
        event_class("be.helpt.Nonsense.v1")


def test_plaintext_personal_data_cannot_be_put_in_an_event():
    with pytest.raises(ValidationError):
        help_requested(personal={"name": "Jan Peeters"})
    with pytest.raises(ValidationError):
        help_requested(personal={"name": {"kid": "k1", "nonce": "Jan", "ciphertext": "Peeters"}})


def test_personal_fields_outside_the_known_categories_are_refused():
    with pytest.raises(ValidationError):
        help_requested(personal={"favourite_colour": sealed()})


def test_a_sealed_field_needs_a_96_bit_nonce_and_room_for_the_gcm_tag():
    good = sealed()
    assert SealedField.model_validate_json(good.model_dump_json()) == good
    with pytest.raises(ValidationError):
        SealedField(kid="k", nonce=base64.b64encode(b"short").decode(), ciphertext=good.ciphertext)
    with pytest.raises(ValidationError):
        SealedField(kid="k", nonce=good.nonce, ciphertext=base64.b64encode(b"tiny").decode())


def test_an_event_survives_a_json_round_trip():
    event = volunteer_registered(availability=[{"weekday": 2, "start": "09:00", "end": "12:00"}])
    assert type(event).model_validate_json(event.model_dump_json()) == event


def test_a_consumer_ignores_fields_added_by_a_newer_producer():
    event = help_requested()
    data = event.model_dump(mode="json") | {"added_in_a_later_release": 42}
    assert HelpRequested.model_validate(data) == event


@pytest.mark.parametrize("tenant", ["Leuven", "", "-leuven", "leu ven", "a" * 64])
def test_a_tenant_id_is_a_lowercase_slug(tenant):
    with pytest.raises(ValidationError):
        help_requested(tenant=tenant)


def test_times_must_carry_a_time_zone_and_windows_must_end_after_they_start():
    with pytest.raises(ValidationError):
        TimeWindow(start="2026-11-22T10:00:00", end="2026-11-22T12:00:00")
    with pytest.raises(ValidationError):
        TimeWindow(start="2026-11-22T12:00:00Z", end="2026-11-22T10:00:00Z")
    window = TimeWindow(start="2026-11-22T10:00:00+01:00", end="2026-11-22T12:00:00+01:00")
    assert window.start.utcoffset().total_seconds() == 0


def test_a_help_request_needs_at_least_one_language():
    with pytest.raises(ValidationError):
        help_requested(languages=[])


def test_partner_topics_are_per_organisation_and_refuse_odd_names():
    assert topics.partner_topic("wit-gele-kruis") == "matching.partner.wit-gele-kruis.v1"
    with pytest.raises(ValueError):
        topics.partner_topic("../other")
    assert topics.dead_letter_topic(topics.VOLUNTEERS) == "intake.volunteers.v1.dlt"
