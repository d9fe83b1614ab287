from helpt_matching.app import create_app
from helpt_matching.settings import MatchingSettings
from helpt_platform.testing import check_service_skeleton


def test_matching_listens_on_8002_and_is_alive_without_its_infrastructure_but_not_ready():
    check_service_skeleton(create_app, MatchingSettings(), default_port=8002)
