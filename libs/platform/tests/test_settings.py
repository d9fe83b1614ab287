import pytest
from pydantic import ValidationError

from helpt_intake.settings import IntakeSettings
from helpt_matching.settings import MatchingSettings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL", "HELPT_TOPIC_PREFIX", "HELPT_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)


def test_each_service_has_its_own_default_port_and_database():
    intake, matching = IntakeSettings(), MatchingSettings()
    assert (intake.port, matching.port) == (8000, 8002)
    assert (intake.database_name, matching.database_name) == ("helpt_intake", "helpt_matching")
    assert intake.consumer_group != matching.consumer_group


def test_one_kafka_and_mongodb_variable_configures_every_service(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("MONGODB_URL", "mongodb://db:27017/")
    for settings in (IntakeSettings(), MatchingSettings()):
        assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
        assert settings.mongodb_url.get_secret_value() == "mongodb://db:27017/"


def test_a_service_prefixed_variable_wins_over_the_shared_one(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "shared:9092")
    monkeypatch.setenv("HELPT_INTAKE_KAFKA_BOOTSTRAP_SERVERS", "intake-only:9092")
    monkeypatch.setenv("HELPT_INTAKE_HTTP_PORT", "9100")
    assert IntakeSettings().kafka_bootstrap_servers == "intake-only:9092"
    assert IntakeSettings().port == 9100
    assert MatchingSettings().kafka_bootstrap_servers == "shared:9092"


def test_the_store_url_never_shows_in_a_repr_because_it_may_hold_a_password(monkeypatch):
    monkeypatch.setenv("MONGODB_URL", "mongodb://helpt:s3cret@db:27017/")
    settings = IntakeSettings()
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())


def test_a_topic_prefix_is_applied_to_contract_topics(monkeypatch):
    monkeypatch.setenv("HELPT_TOPIC_PREFIX", "t-1234.")
    assert IntakeSettings().topic("intake.volunteers.v1") == "t-1234.intake.volunteers.v1"


def test_a_bad_port_is_refused_at_start_not_at_first_use(monkeypatch):
    monkeypatch.setenv("HELPT_INTAKE_HTTP_PORT", "99999")
    with pytest.raises(ValidationError):
        IntakeSettings()
