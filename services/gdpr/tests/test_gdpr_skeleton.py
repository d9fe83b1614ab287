from helpt_gdpr.app import create_app
from helpt_gdpr.settings import GdprSettings
from helpt_platform.testing import check_service_skeleton


def test_gdpr_is_alive_without_its_infrastructure_but_not_ready():
    check_service_skeleton(create_app, GdprSettings())


def test_gdpr_listens_on_8003_unless_told_otherwise(monkeypatch):
    assert GdprSettings().port == 8003
    monkeypatch.setenv("HELPT_GDPR_HTTP_PORT", "9003")
    assert GdprSettings().port == 9003
