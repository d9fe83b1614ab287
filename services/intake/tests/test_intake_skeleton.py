from helpt_intake.app import create_app
from helpt_intake.settings import IntakeSettings
from helpt_platform.testing import check_service_skeleton


def test_intake_listens_on_8000_and_is_alive_without_its_infrastructure_but_not_ready():
    check_service_skeleton(create_app, IntakeSettings(), default_port=8000)
