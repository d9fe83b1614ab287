"""The suite-wide check for personal data in what the services print: what it recognises, and what it leaves alone."""

from __future__ import annotations

import uuid

from helpt_platform.leakcheck import findings_in


def test_the_tests_people_are_recognised_in_a_log_line_without_the_value_being_repeated():
    lines = [
        '2026-11-22 [info] mail received sender=canary.mailer@example.org',
        '{"event": "sealing", "phone": "0470 12 34 56"}',
        "revealed for +32470123456 at the desk",
        "caller +32 16 22 33 44 called back",
        "name=Mevrouw Claes asked",
        "ValidationError: input_value='Canary Twice'",
    ]
    found = findings_in("\n".join(lines))
    assert [kind for kind, _ in found] == ["e-mail address", "phone number", "phone number", "phone number", "name", "name"]
    assert all("example.org" not in start and "0470" not in start for _, start in found), "a finding never repeats the value"


def test_ids_times_references_and_the_help_address_are_not_personal_data():
    harmless = [
        f"offer made match_id={uuid.uuid4()} request_id={uuid.uuid4()}",
        "2026-11-22T21:55:44.123456Z relay published 3 events at offset 0470123456789",
        "reference H-7K3Q9 case 4701234561 postcode 3001",
        "mail to help@leuven.helpt.local accepted",
        "test_canary_in_logs.py:12 INFO checking",
    ]
    assert findings_in("\n".join(harmless)) == []
