"""What intake's integration tests share: gdpr and intake settings on the real Kafka and FerretDB."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpt_gdpr.app import create_app as create_gdpr
from helpt_gdpr.settings import GdprSettings
from helpt_intake.app import create_app
from helpt_intake.settings import IntakeSettings
from helpt_platform.auth import local_secret
from helpt_platform.testing import eventually, serve_in_thread

StackStarter = Callable[..., contextlib.AbstractContextManager[tuple[IntakeSettings, str, bytes]]]


@pytest.fixture(scope="session")
def intake_stack(infra, tmp_path_factory) -> StackStarter:
    """`with intake_stack("name", **intake_settings) as (settings, gdpr_url, secret)`: a served gdpr and the
    intake settings to go with it, on topics and databases of their own. `common=` adds settings both share."""

    @contextlib.contextmanager
    def start(name: str, *, common: dict[str, Any] | None = None, **intake: Any) -> Iterator[tuple[IntakeSettings, str, bytes]]:
        tmp = tmp_path_factory.mktemp(name)
        run = uuid.uuid4().hex[:8]
        shared = dict(kafka_bootstrap_servers=infra.bootstrap_servers, mongodb_url=infra.mongodb_url,
                      topic_prefix=f"{name}-{run}.", jwt_secret_file=tmp / "jwt.secret", log_json=False, **(common or {}))
        gdpr = GdprSettings(**shared, mongodb_database=f"helpt_gdpr_{run}", key_dir=tmp / "keys")
        with serve_in_thread(create_gdpr(gdpr)) as gdpr_url:
            settings = IntakeSettings(**shared, mongodb_database=f"helpt_intake_{run}", gdpr_url=gdpr_url,
                                      **({"smtp_port": 0} | intake))
            yield settings, gdpr_url, local_secret(tmp / "jwt.secret")

    return start


@pytest.fixture(scope="session")
def ready_client() -> Callable[[IntakeSettings], contextlib.AbstractContextManager[TestClient]]:
    """`with ready_client(settings) as client`: intake in a TestClient, once its broker is connected."""

    @contextlib.contextmanager
    def start(settings: IntakeSettings) -> Iterator[TestClient]:
        with TestClient(create_app(settings)) as client:
            eventually(lambda: client.get("/readyz").status_code, lambda status: status == 200, "intake ready", seconds=30)
            yield client

    return start
