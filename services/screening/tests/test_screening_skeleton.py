from helpt_screening.app import create_app
from helpt_screening.settings import ScreeningSettings
from helpt_platform.testing import check_service_skeleton


def test_screening_listens_on_8001_and_is_alive_without_its_infrastructure_but_not_ready():
    check_service_skeleton(create_app, ScreeningSettings(), default_port=8001)
