"""Fixtures the platform's Kafka tests share."""

from __future__ import annotations

import pytest

from helpt_intake.settings import IntakeSettings


@pytest.fixture
def settings(infra, unique_name) -> IntakeSettings:
    """Settings on the real broker and store, with topics of this test's own (prefix)."""
    return IntakeSettings(
        kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url,
        topic_prefix=f"{unique_name}.", log_json=False,
    )
