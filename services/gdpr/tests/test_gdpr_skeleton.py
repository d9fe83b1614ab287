from helpt_gdpr.app import create_app
from helpt_gdpr.settings import GdprSettings
from helpt_platform.testing import check_service_skeleton


def test_gdpr_listens_on_8003_and_is_alive_without_its_infrastructure_but_not_ready():
    check_service_skeleton(create_app, GdprSettings(), default_port=8003)
