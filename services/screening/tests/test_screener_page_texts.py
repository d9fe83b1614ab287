"""The screener pages' words without the stack: every text translated, a pending decision said so."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest

from helpt_screening.desk import CaseDetail, HistoryEntry, Publication
from helpt_screening.i18n import languages, missing
from helpt_screening.web import render

NOW = dt.datetime(2026, 3, 20, 9, 30, tzinfo=dt.UTC)


def test_every_text_is_translated_in_dutch_and_french():
    assert languages() == ("nl", "en", "fr")
    assert missing() == {}, "run `make messages` and translate the new texts"


def decided(sent_at: dt.datetime | None) -> CaseDetail:
    case_id = uuid.uuid4()
    return CaseDetail(
        id=case_id, state="approved", version=1, facts={}, flags=[], sealed_fields=[], registered_at=NOW,
        history=[HistoryEntry(at=NOW, by="intake", action="registered"),
                 HistoryEntry(at=NOW, by="sara", action="approve", reason="interview-ok", to_state="approved")],
        publications=[Publication(event_id=uuid.uuid4(), type="VolunteerApproved", sent_at=sent_at)],
        pending_publication=sent_at is None, guidelines_link="http://127.0.0.1:8001/guidelines/abc")


def page(lang: str, case: CaseDetail) -> str:
    request = SimpleNamespace(url=SimpleNamespace(path=f"/{lang}/screening/"))
    return render(request, lang, "queue.html", title="Queue", signed_in=True, cases=[], decided=case).body.decode()


@pytest.mark.parametrize("lang, pending, published", [
    ("en", "Pending publication", "Published: matching has been told."),
    ("nl", "Wacht op publicatie", "Gepubliceerd: matching is op de hoogte."),
])
def test_a_decision_not_yet_on_kafka_is_shown_as_pending_publication(lang, pending, published):
    waiting = page(lang, decided(sent_at=None))
    assert pending in waiting and published not in waiting
    out = page(lang, decided(sent_at=NOW))
    assert published in out and pending not in out
    assert "/guidelines/abc" in waiting, "after an approval, the link the volunteer confirms the guidelines with"
