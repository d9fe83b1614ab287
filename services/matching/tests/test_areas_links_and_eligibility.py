"""Matching's pure parts: the areas file, the visits table, the offer links, and who may be offered what."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest

from helpt_matching.areas import AreasFileError, haversine_km, load_areas
from helpt_matching.domain import NEVER, Candidate, fold_volunteer, rank, reach, visit_tasks
from helpt_matching.links import ForgedLink, LapsedLink, OfferLinks

NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
LEUVEN_POSTCODES = {"3000", "3001", "3010", "3012", "3018", "3020", "3050", "3060", "3070", "3080", "3110", "3210", "3360"}


def test_leuven_areas_hold_the_city_and_its_neighbours_with_symmetric_neighbourhoods():
    areas = load_areas("leuven").by_postcode
    assert LEUVEN_POSTCODES <= set(areas)
    for code, area in areas.items():
        assert 50.7 < area.lat < 51.0 and 4.4 < area.lon < 4.9, code
        for other in area.neighbours:
            assert code in areas[other].neighbours, f"{code} lists {other}, not the other way round"


def test_distances_are_great_circle_kilometres_between_centroids():
    assert haversine_km(50.8798, 4.7005, 50.8798, 4.7005) == 0
    assert haversine_km(0, 0, 0, 1) == pytest.approx(111.2, abs=0.1)
    areas = load_areas("leuven")
    assert 1.5 < areas.distance_km("3000", "3001") < 2.5
    assert 15 < areas.distance_km("3080", "3210") < 25
    assert areas.distance_km("3001", "9999") is None
    assert load_areas("nowhere").distance_km("3000", "3001") is None


def test_matchings_visit_table_agrees_with_the_default_catalogue():
    catalogue = json.loads((Path(__file__).parents[3] / "services/intake/src/helpt_intake/data/catalogue.json").read_text())
    assert visit_tasks() == {v["code"] for v in catalogue["vacancies"] if v["visit"]}


def test_an_offer_link_opens_its_offer_and_an_altered_or_foreign_one_does_not():
    links = OfferLinks(b"s" * 32, dt.timedelta(hours=1))
    match = uuid.uuid4()
    token = links.token("leuven", match, NOW)
    assert links.read(token, NOW).ident == match
    other = str(uuid.uuid4())
    with pytest.raises(ForgedLink):
        links.read(token.replace(str(match), other), NOW)
    with pytest.raises(ForgedLink):
        links.read(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), NOW)
    with pytest.raises(ForgedLink):
        OfferLinks(b"t" * 32, dt.timedelta(hours=1)).read(token, NOW)
    with pytest.raises(ForgedLink):
        links.read("../../etc/passwd", NOW)
    with pytest.raises(LapsedLink):
        links.read(token, NOW + dt.timedelta(hours=2))


def _facts(*kinds):
    return [{"kind": k, "data": d} for k, d in kinds]


REGISTERED = ("registered", {"tasks": ["dog-walking"], "postcode": "3001", "languages": ["en"], "max_distance_km": 5.0})


@pytest.mark.parametrize(("later", "eligible"), [
    ([], False),
    ([("decision", {"decision": "approved"})], True),
    ([("decision", {"decision": "rejected"})], False),
    ([("decision", {"decision": "approved"}), ("decision", {"decision": "suspended"})], False),
    ([("decision", {"decision": "approved"}), ("decision", {"decision": "reversed"})], False),
    ([("decision", {"decision": "approved"}), ("withdrawn", {})], False),
])
def test_only_an_approved_volunteer_not_suspended_reversed_or_withdrawn_is_eligible(later, eligible):
    assert fold_volunteer(_facts(REGISTERED, *later))["eligible"] is eligible


def test_a_decision_before_the_registration_arrives_waits_for_it():
    assert fold_volunteer(_facts(("decision", {"decision": "approved"})))["eligible"] is False


def test_visits_wait_for_the_guidelines_and_languages_and_reach_must_fit():
    request = {"task": "dog-walking", "postcode": "3001", "languages": ["en"]}
    approved = fold_volunteer(_facts(REGISTERED, ("decision", {"decision": "approved"})))
    areas = load_areas("leuven")
    assert reach(request, approved, areas) is None  # a visit, guidelines not confirmed
    confirmed = fold_volunteer(_facts(REGISTERED, ("decision", {"decision": "approved"}), ("guidelines", {})))
    assert reach(request, confirmed, areas) == 0.0
    assert reach({**request, "languages": ["fr"]}, confirmed, areas) is None
    assert reach({**request, "postcode": "3080"}, confirmed, areas) is None  # Tervuren is beyond 5 km
    assert reach({**request, "task": "phone-chat"}, confirmed, areas) is None


def test_the_nearest_come_first_and_among_equals_who_waited_longest():
    long_ago, recently = NOW - dt.timedelta(days=5), NOW - dt.timedelta(hours=1)
    ranked = rank([Candidate("busy", None, 0.0, recently, 4), Candidate("far", None, 3.0, NEVER, 0),
                   Candidate("rested", None, 0.0, long_ago, 9), Candidate("new", None, 0.0, NEVER, 0)])
    assert [c.volunteer_id for c in ranked] == ["new", "rested", "busy", "far"]


def test_a_municipality_s_areas_come_from_the_deployment_s_tenant_directory(tmp_path):
    (tmp_path / "areas").mkdir()
    (tmp_path / "areas" / "heverlee.json").write_text(json.dumps({"timezone": "Europe/Brussels", "areas": {
        "3001": {"name": "Heverlee", "lat": 50.863, "lon": 4.696, "neighbours": ["3000"]},
        "3000": {"name": "Leuven", "lat": 50.879, "lon": 4.701, "neighbours": ["3001"]}}}), encoding="utf-8")
    heverlee = load_areas("heverlee", tmp_path)
    assert set(heverlee.by_postcode) == {"3000", "3001"}
    assert 1.0 < heverlee.distance_km("3000", "3001") < 3.0
    assert load_areas("heverlee").by_postcode == {}, "not shipped: without the directory nothing is in reach"
    assert load_areas("leuven", tmp_path).by_postcode == load_areas("leuven").by_postcode, "the shipped file still serves Leuven"
    (tmp_path / "areas" / "leuven.json").write_text(json.dumps({"areas": {
        "3000": {"name": "Leuven", "lat": 50.879, "lon": 4.701, "neighbours": []}}}), encoding="utf-8")
    assert set(load_areas("leuven", tmp_path).by_postcode) == {"3000"}, "a file in the directory replaces the shipped one"


@pytest.mark.parametrize("text", ["not json", '{"areas": {"3000": {"name": "Leuven"}}}', '{"timezone": "Mars/Olympus", "areas": {}}'])
def test_a_broken_areas_file_is_refused_naming_the_file(tmp_path, text):
    (tmp_path / "areas").mkdir()
    (tmp_path / "areas" / "gent.json").write_text(text, encoding="utf-8")
    with pytest.raises(AreasFileError, match="gent.json"):
        load_areas("gent", tmp_path)
