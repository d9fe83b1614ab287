import base64
import stat
import uuid

import pytest

from helpt_contracts.sealed import PersonalField, SealedField
from helpt_gdpr.crypto import SealBroken, new_key, open_field, seal_field, unwrap_key, wrap_key
from helpt_gdpr.tenant_keys import FileTenantKeys

SUBJECT = uuid.uuid4()


def sealed_phone(key: bytes) -> SealedField:
    return seal_field(key, "dk-1", "leuven", SUBJECT, PersonalField.PHONE, "+32 470 12 34 56")


def test_a_sealed_field_opens_with_its_key_and_holds_no_plaintext():
    key = new_key()
    sealed = sealed_phone(key)
    assert "+32 470 12 34 56" not in sealed.model_dump_json()  # the whole number: random base64 may hold any 3 digits
    assert open_field(key, "leuven", SUBJECT, PersonalField.PHONE, sealed) == "+32 470 12 34 56"


def test_sealing_twice_gives_different_ciphertexts():
    key = new_key()
    assert sealed_phone(key).ciphertext != sealed_phone(key).ciphertext


@pytest.mark.parametrize(
    "tenant, subject, field",
    [("heverlee", SUBJECT, PersonalField.PHONE), ("leuven", uuid.uuid4(), PersonalField.PHONE),
     ("leuven", SUBJECT, PersonalField.EMAIL)],
    ids=["moved-to-another-tenant", "moved-to-another-subject", "moved-to-another-field"],
)
def test_a_sealed_field_moved_elsewhere_does_not_open(tenant, subject, field):
    key = new_key()
    with pytest.raises(SealBroken):
        open_field(key, tenant, subject, field, sealed_phone(key))


def test_a_tampered_ciphertext_does_not_open():
    key = new_key()
    sealed = sealed_phone(key)
    raw = bytearray(base64.b64decode(sealed.ciphertext))
    raw[0] ^= 1
    tampered = sealed.model_copy(update={"ciphertext": base64.b64encode(bytes(raw)).decode()})
    with pytest.raises(SealBroken):
        open_field(key, "leuven", SUBJECT, PersonalField.PHONE, tampered)


def test_a_wrapped_data_key_opens_only_under_its_tenant_key_and_place():
    tenant_key, data_key = new_key(), new_key()
    wrapped = wrap_key(tenant_key, "leuven", SUBJECT, "dk-1", data_key)
    assert data_key not in wrapped
    assert unwrap_key(tenant_key, "leuven", SUBJECT, "dk-1", wrapped) == data_key
    with pytest.raises(SealBroken):
        unwrap_key(new_key(), "leuven", SUBJECT, "dk-1", wrapped)
    with pytest.raises(SealBroken):
        unwrap_key(tenant_key, "leuven", uuid.uuid4(), "dk-1", wrapped)


async def test_tenant_key_files_are_private_created_once_and_destroyed_for_good(tmp_path):
    keys = FileTenantKeys(tmp_path / "keys")
    first = await keys.create("leuven")
    assert await keys.create("leuven") == first
    path = tmp_path / "keys" / "leuven.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert await keys.destroy("leuven") is True
    assert not path.exists() and await keys.get("leuven") is None
    assert await keys.destroy("leuven") is False
    assert await keys.get("heverlee") is None
