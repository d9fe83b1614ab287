"""The client every service uses, against the real gdpr service — and against a gdpr that is down."""

from __future__ import annotations

import pytest

from helpt_contracts.roles import ActionKind, Purpose, Role
from helpt_contracts.sealed import PersonalField as F
from helpt_gdpr.app import create_app
from helpt_platform.auth import Refusal, issue_token, local_secret
from helpt_platform.gdpr_client import GdprClient, GdprUnavailable
from helpt_platform.testing import serve_in_thread

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def gdpr(gdpr_settings):
    settings = gdpr_settings()
    secret = local_secret(settings.jwt_secret_file)
    with serve_in_thread(create_app(settings)) as base:
        yield base, lambda role, sub: issue_token(secret, sub=sub, role=role, tenant="leuven")


async def test_a_service_seals_and_the_dpo_reveals_through_the_client(gdpr):
    base, token = gdpr
    intake = GdprClient(base, lambda tenant: token(Role.SERVICE, "intake"))
    dpo = GdprClient(base, lambda tenant: token(Role.DPO, "dpo-1"))
    try:
        subject, sealed = await intake.seal("leuven", {F.NAME: "Jeanne Dupont", F.PHONE: "0470 12 34 56"})
        assert "Dupont" not in str(sealed)
        opened = await dpo.reveal("leuven", subject, Purpose.SUBJECT_ACCESS, (ActionKind.SUBJECT, subject), sealed)
        assert opened == {F.NAME: "Jeanne Dupont", F.PHONE: "0470 12 34 56"}
        indexes = await intake.blind_indexes("leuven", phone="+32 470 12 34 56")
        assert indexes == await intake.blind_indexes("leuven", phone="0470123456")
    finally:
        await intake.aclose()
        await dpo.aclose()


async def test_sealing_with_the_index_gives_the_same_indexes_in_one_call_and_refuses_a_bad_contact(gdpr):
    base, token = gdpr
    intake = GdprClient(base, lambda tenant: token(Role.SERVICE, "intake"))
    dpo = GdprClient(base, lambda tenant: token(Role.DPO, "dpo-1"))
    try:
        fields = {F.NAME: "Jeanne Dupont", F.PHONE: "0470 12 34 56", F.EMAIL: "Jeanne.Dupont@Example.org"}
        subject, sealed, index = await intake.seal_and_index("leuven", fields)
        assert index == await intake.blind_indexes("leuven", phone="+32 470 12 34 56", email="jeanne.dupont@example.org")
        assert index["phone"] and index["email"]
        opened = await dpo.reveal("leuven", subject, Purpose.SUBJECT_ACCESS, (ActionKind.SUBJECT, subject), sealed)
        assert opened == fields
        with pytest.raises(Refusal) as refused:
            await intake.seal_and_index("leuven", {F.NAME: "Jeanne Dupont", F.PHONE: "not a number 12"})
        assert refused.value.status == 422 and "not a number" not in refused.value.reason
    finally:
        await intake.aclose()
        await dpo.aclose()


async def test_a_refusal_comes_back_with_its_status_and_reason(gdpr):
    base, token = gdpr
    operator = GdprClient(base, lambda tenant: token(Role.OPERATOR, "operator-1"))
    try:
        with pytest.raises(Refusal) as refused:
            await operator.seal("leuven", {F.NAME: "Jeanne Dupont"})
        assert refused.value.status == 403 and "Dupont" not in refused.value.reason
    finally:
        await operator.aclose()


async def test_when_gdpr_is_down_the_caller_gets_a_503_and_nothing_is_sealed():
    down = GdprClient("http://127.0.0.1:1", lambda tenant: "any", timeout_s=2)
    try:
        with pytest.raises(GdprUnavailable) as unavailable:
            await down.seal("leuven", {F.PHONE: "+32 470 12 34 56"})
        assert unavailable.value.status == 503 and "470" not in str(unavailable.value)
    finally:
        await down.aclose()
