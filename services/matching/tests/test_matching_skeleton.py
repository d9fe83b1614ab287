from helpt_matching.app import create_app
from helpt_matching.settings import MatchingSettings
from helpt_platform.testing import check_service_skeleton


def test_matching_is_alive_without_its_infrastructure_but_not_ready():
    check_service_skeleton(create_app, MatchingSettings())


def test_matching_listens_on_8002_unless_told_otherwise(monkeypatch):
    assert MatchingSettings().port == 8002
    monkeypatch.setenv("HELPT_MATCHING_HTTP_PORT", "9002")
    assert MatchingSettings().port == 9002
