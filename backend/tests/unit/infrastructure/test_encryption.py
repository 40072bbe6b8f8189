"""Master keys from FILE_ENCRYPTION_KEY, and sealing small secrets."""

from __future__ import annotations

import base64

import pytest

from app.infrastructure.adapters.encryption import (
    AesGcmSecretBox,
    DecryptionError,
    InvalidMasterKeyError,
    MasterKeyRing,
)

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()


def test_a_single_key_gets_an_id_derived_from_it() -> None:
    first = MasterKeyRing.from_setting(KEY_A)
    again = MasterKeyRing.from_setting(f" {KEY_A} ")

    assert first.current_key_id == again.current_key_id
    assert len(first.current_key_id) == 8


def test_the_first_of_several_keys_encrypts_and_all_decrypt() -> None:
    old = MasterKeyRing.from_setting(f"old:{KEY_A}")
    rotated = MasterKeyRing.from_setting(f"new:{KEY_B}, old:{KEY_A}")
    key_id, sealed = old.encrypt(b"payload", context=b"ctx")

    assert rotated.current_key_id == "new"
    assert rotated.decrypt(key_id, sealed, context=b"ctx") == b"payload"
    with pytest.raises(DecryptionError):
        rotated.decrypt(key_id, sealed, context=b"other context")
    with pytest.raises(DecryptionError):
        rotated.decrypt("gone", sealed, context=b"ctx")
    with pytest.raises(DecryptionError):
        rotated.decrypt(key_id, sealed[:5], context=b"ctx")


@pytest.mark.parametrize(
    "setting",
    [
        "",
        " , ",
        "not base64!",
        base64.b64encode(b"short").decode(),
        f"a:{KEY_A},a:{KEY_B}",
        f":{KEY_A}",
    ],
)
def test_unreadable_settings_are_refused_without_echoing_the_key(setting: str) -> None:
    with pytest.raises(InvalidMasterKeyError) as caught:
        MasterKeyRing.from_setting(setting)
    assert KEY_A not in str(caught.value)


def test_a_ring_refuses_keys_of_the_wrong_size_or_a_missing_current_id() -> None:
    with pytest.raises(InvalidMasterKeyError):
        MasterKeyRing({"k": b"x" * 16}, "k")
    with pytest.raises(InvalidMasterKeyError):
        MasterKeyRing({"k": b"x" * 32}, "other")


def test_the_secret_box_seals_and_refuses_anything_altered() -> None:
    box = AesGcmSecretBox(MasterKeyRing.from_setting(f"k1:{KEY_A}"))
    sealed = box.seal("JBSWY3DPEHPK3PXP")

    assert box.open(sealed) == "JBSWY3DPEHPK3PXP"
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert box.seal("JBSWY3DPEHPK3PXP") != sealed  # a fresh nonce every time
    prefix, key_id, body = sealed.split(".")
    flipped = body[:-3] + ("A" if body[-3] != "A" else "B") + body[-2:]
    for altered in (
        f"{prefix}.{key_id}.{flipped}",
        f"v2.{key_id}.{body}",
        f"{prefix}.other.{body}",
        "no dots at all",
        f"{prefix}.{key_id}.!!!",
    ):
        with pytest.raises(DecryptionError):
            box.open(altered)
