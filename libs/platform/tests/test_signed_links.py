"""Links a person opens without signing in: honoured while genuine and in time, for their own purpose only."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from helpt_platform.signed_links import ForgedLink, LapsedLink, LinkSigner

NOW = dt.datetime(2026, 3, 17, 9, 0, tzinfo=dt.UTC)
SECRET = b"s" * 32


def test_a_link_for_one_purpose_never_opens_another():
    offer = LinkSigner(SECRET, dt.timedelta(hours=2), purpose="offer")
    guidelines = LinkSigner(SECRET, dt.timedelta(hours=2), purpose="guidelines")
    ident = uuid.uuid4()
    token = guidelines.token("leuven", ident, NOW)
    assert guidelines.read(token, NOW).ident == ident
    with pytest.raises(ForgedLink):
        offer.read(token, NOW)


def test_a_link_is_refused_once_lapsed_or_with_another_tenant_written_in():
    signer = LinkSigner(SECRET, dt.timedelta(hours=2), purpose="offer")
    token = signer.token("leuven", uuid.uuid4(), NOW)
    with pytest.raises(LapsedLink):
        signer.read(token, NOW + dt.timedelta(hours=3))
    with pytest.raises(ForgedLink):
        signer.read(token.replace(".leuven.", ".herent."), NOW)
