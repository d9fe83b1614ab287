"""Municipalities as data: the tenant profiles, their checks at start-up, and how hosts and addresses map to them."""

import json

import pytest

from helpt_intake.app import create_app
from helpt_intake.settings import IntakeSettings
from helpt_matching.settings import MatchingSettings
from helpt_platform.tenants import TenantProfileError, load_tenant_profiles

HEVERLEE = {"id": "heverlee", "name": "Heverlee", "help_phone": "016 11 22 33", "languages": ["nl", "en"],
            "hosts": ["Heverlee.Example"], "help_addresses": ["Help@heverlee.example"]}


def write(folder, name, content):
    (folder / f"{name}.json").write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return folder


def test_leuven_is_shipped_and_needs_no_file():
    leuven = IntakeSettings().tenant_profiles()["leuven"]
    assert (leuven.name, leuven.help_phone, leuven.languages) == ("Leuven", "016 27 27 72", ("nl", "en", "fr"))


def test_a_region_adds_a_municipality_by_adding_a_file_and_every_service_reads_it(tmp_path, monkeypatch):
    write(tmp_path, "heverlee", HEVERLEE)
    monkeypatch.setenv("HELPT_TENANT_DIR", str(tmp_path))
    monkeypatch.setenv("HELPT_TENANTS", "leuven,heverlee")
    for settings in (IntakeSettings(), MatchingSettings()):
        profiles = settings.tenant_profiles()
        assert set(profiles) == {"leuven", "heverlee"} and profiles["heverlee"].name == "Heverlee"
        assert profiles.for_host("heverlee.example:8000") == "heverlee"
        assert profiles.for_host("HEVERLEE.example") == "heverlee"
        assert profiles.for_host("leuven.helpt.local") == "leuven"
        assert profiles.for_host("127.0.0.1:8000") is None
        assert profiles.for_help_address(" help@Heverlee.example") == "heverlee"


def test_a_file_in_the_directory_replaces_the_shipped_profile(tmp_path):
    write(tmp_path, "leuven", {"id": "leuven", "name": "Stad Leuven", "help_phone": "016 00 00 00", "languages": ["nl"]})
    assert load_tenant_profiles(("leuven",), tmp_path)["leuven"].name == "Stad Leuven"


@pytest.mark.parametrize("content, says", [
    ({**HEVERLEE, "help_phone": ""}, "help_phone"),
    ({**HEVERLEE, "languages": []}, "languages"),
    ({**HEVERLEE, "languages": ["nl", "nl"]}, "twice"),
    ({**HEVERLEE, "colour": "red"}, "colour"),
    ({**HEVERLEE, "id": "gent"}, "gent.json"),
    ("{not json", "not JSON"),
])
def test_a_bad_profile_stops_start_up_naming_the_file_and_the_problem(tmp_path, content, says):
    write(tmp_path, "heverlee", content)
    with pytest.raises(TenantProfileError, match=says) as error:
        load_tenant_profiles(("leuven",), tmp_path)  # checked even before the municipality is served
    assert "heverlee.json" in str(error.value)


def test_a_municipality_served_without_a_profile_stops_start_up():
    with pytest.raises(TenantProfileError, match="no tenant profile for gent"):
        create_app(IntakeSettings(tenants="leuven,gent"))


def test_two_municipalities_cannot_claim_one_host_name(tmp_path):
    write(tmp_path, "heverlee", {**HEVERLEE, "hosts": ["leuven.helpt.local"]})
    with pytest.raises(TenantProfileError, match="leuven.helpt.local is claimed by both"):
        load_tenant_profiles(("leuven", "heverlee"), tmp_path)


def test_a_language_without_texts_stops_intake(tmp_path):
    write(tmp_path, "heverlee", {**HEVERLEE, "languages": ["nl", "de"]})
    with pytest.raises(TenantProfileError, match="no texts in de"):
        create_app(IntakeSettings(tenants="leuven,heverlee", tenant_dir=tmp_path))


def test_the_retired_city_name_and_phone_settings_stop_intake_instead_of_being_ignored(monkeypatch):
    monkeypatch.setenv("HELPT_INTAKE_CITY_NAME", "Gent")
    with pytest.raises(TenantProfileError, match="HELPT_INTAKE_CITY_NAME is no longer read"):
        create_app(IntakeSettings())
