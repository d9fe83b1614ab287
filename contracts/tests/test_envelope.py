import json

import pytest

from helpt_contracts.envelope import HEADER_NAMES, Envelope, EnvelopeError, decode_event, encode_event

from helpt_contracts.examples import help_requested


def test_an_event_round_trips_through_key_body_and_headers():
    event = help_requested()
    envelope = Envelope.for_event(event, source="intake", correlation_id="call-42")
    key, body, headers = encode_event(event, envelope)

    assert set(headers) == set(HEADER_NAMES)
    assert headers["ce_type"] == "be.helpt.HelpRequested.v1"
    assert headers["ce_source"] == "/helpt/intake"
    assert headers["ce_subject"] == key.decode() == str(event.request_id)
    assert headers["tenant"] == "leuven"
    raw_headers = [(k, v.encode()) for k, v in headers.items()]  # as Kafka hands them back
    got_envelope, got_event = decode_event(raw_headers, body)
    assert got_event == event
    assert got_envelope == envelope


def test_a_missing_header_is_named():
    event = help_requested()
    headers = Envelope.for_event(event, source="intake").to_headers()
    del headers["tenant"]
    with pytest.raises(EnvelopeError, match="tenant"):
        decode_event(headers, event.model_dump_json().encode())


def test_an_unknown_event_type_is_refused():
    event = help_requested()
    headers = Envelope.for_event(event, source="intake").to_headers() | {"ce_type": "be.helpt.Unknown.v1"}
    with pytest.raises(EnvelopeError, match="unknown event type"):
        decode_event(headers, event.model_dump_json().encode())


def test_a_body_from_another_tenant_than_its_header_is_refused():
    event = help_requested()
    headers = Envelope.for_event(event, source="intake").to_headers() | {"tenant": "heverlee"}
    with pytest.raises(EnvelopeError, match="disagree"):
        decode_event(headers, event.model_dump_json().encode())


def test_an_invalid_body_is_reported_without_repeating_its_content():
    event = help_requested()
    headers = Envelope.for_event(event, source="intake").to_headers()
    body = event.model_dump(mode="json") | {"postcode": "Jan Peeters, Naamsestraat 1"}
    with pytest.raises(EnvelopeError) as caught:
        decode_event(headers, json.dumps(body).encode())
    assert "postcode" in str(caught.value)
    assert "Peeters" not in str(caught.value)


def test_not_json_at_all_is_an_envelope_error_not_a_crash():
    event = help_requested()
    headers = Envelope.for_event(event, source="intake").to_headers()
    with pytest.raises(EnvelopeError):
        decode_event(headers, b"\xff\xfe not json")


def test_an_envelope_cannot_be_reused_for_another_event():
    first, second = help_requested(), help_requested(tenant="heverlee")
    with pytest.raises(EnvelopeError):
        encode_event(second, Envelope.for_event(first, source="intake"))
