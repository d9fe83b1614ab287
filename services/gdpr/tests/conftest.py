"""Fixtures of the gdpr service's tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from helpt_gdpr.settings import GdprSettings


@pytest.fixture(scope="module")
def gdpr_settings(infra, tmp_path_factory) -> Callable[..., GdprSettings]:
    """Settings for a gdpr instance of its own: real infrastructure, fresh database, topics, keys and secret."""

    def make(**overrides) -> GdprSettings:
        run = uuid.uuid4().hex[:8]
        tmp = tmp_path_factory.mktemp(f"gdpr-{run}")
        fields = dict(
            kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url,
            mongodb_database=f"helpt_gdpr_{run}", topic_prefix=f"g-{run}.", key_dir=tmp / "keys",
            jwt_secret_file=tmp / "jwt.secret", log_json=False,
        )
        return GdprSettings(**{**fields, **overrides})

    return make
