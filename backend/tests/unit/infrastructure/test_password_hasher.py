"""The Argon2id adapter: passwords are hashed and checked in their NFKC form, and a hash made by
an earlier version from the form as typed still opens (until the next login rehashes it)."""

from __future__ import annotations

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.domain.value_objects.password import normalize_password
from app.infrastructure.adapters.password_hasher import Argon2PasswordHasher

COMPOSED = "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e"
DECOMPOSED = "cafe\u0301 cre\u0300me bru\u0302le\u0301e"
LIGATURE = "\ufb01ve \ufb02oating \ufb01sh"  # ﬁve ﬂoating ﬁsh
SPELLED_OUT = "five floating fish"
FULLWIDTH = "\uff34\uff52\uff4f\uff55\uff42\uff41\uff44\uff4f\uff55\uff52 \uff11\uff12"
ASCII = "Troubadour 12"


@pytest.fixture
def hasher() -> Argon2PasswordHasher:
    return Argon2PasswordHasher(memory_kib=1024, iterations=1, concurrency=2)


def legacy_hash(password: str) -> str:
    """What the earlier version stored: the Argon2id hash of the password exactly as typed."""
    return PasswordHash((Argon2Hasher(memory_cost=1024, time_cost=1, parallelism=1),)).hash(
        password
    )


@pytest.mark.parametrize(
    ("set_as", "checked_as"),
    [
        (COMPOSED, DECOMPOSED),
        (DECOMPOSED, COMPOSED),
        (LIGATURE, SPELLED_OUT),
        (SPELLED_OUT, LIGATURE),
        (FULLWIDTH, ASCII),
        (ASCII, FULLWIDTH),
        (COMPOSED, COMPOSED),
    ],
)
async def test_the_same_password_in_another_unicode_form_matches(
    hasher: Argon2PasswordHasher, set_as: str, checked_as: str
) -> None:
    password_hash = await hasher.hash(set_as)

    assert await hasher.verify(checked_as, password_hash)
    assert await hasher.verify(normalize_password(checked_as), password_hash)  # not legacy


async def test_a_different_password_does_not_match(hasher: Argon2PasswordHasher) -> None:
    password_hash = await hasher.hash(COMPOSED)

    for wrong in ("cafe creme brulee", COMPOSED + " ", COMPOSED.upper(), ""):
        assert not await hasher.verify(wrong, password_hash)


@pytest.mark.parametrize("typed", [DECOMPOSED, LIGATURE, FULLWIDTH])
async def test_a_legacy_hash_of_the_raw_form_opens_with_that_form_and_is_told_apart(
    hasher: Argon2PasswordHasher, typed: str
) -> None:
    stored = legacy_hash(typed)

    assert await hasher.verify(typed, stored)
    # What tells a login that the hash is legacy: the normalized form alone does not match it.
    assert not await hasher.verify(normalize_password(typed), stored)
    rehashed = await hasher.hash(typed)
    assert await hasher.verify(normalize_password(typed), rehashed)
    assert await hasher.verify(typed, rehashed)


async def test_a_legacy_hash_of_a_form_nfkc_keeps_is_as_good_as_a_new_one(
    hasher: Argon2PasswordHasher,
) -> None:
    stored = legacy_hash(COMPOSED)  # NFKC leaves composed letters as they are

    assert await hasher.verify(COMPOSED, stored)
    assert await hasher.verify(DECOMPOSED, stored)
    assert await hasher.verify(normalize_password(DECOMPOSED), stored)


async def test_malformed_hashes_never_match_nor_raise(hasher: Argon2PasswordHasher) -> None:
    for stored in ("", "not a hash", "$argon2id$v=19$m=1024,t=1,p=1$bad", "\x00"):
        assert not await hasher.verify(DECOMPOSED, stored)


async def test_burning_time_costs_what_a_real_check_of_the_same_password_costs(
    hasher: Argon2PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A password NFKC changes is checked twice against a real hash (normalized, then as typed);
    # the decoy check of an unknown account must do the same, or timing tells them apart.
    checks: list[str] = []
    original = hasher._hash.verify

    def counting(password: str, password_hash: str) -> bool:
        checks.append(password)
        return original(password, password_hash)

    real = await hasher.hash(ASCII)
    await hasher.burn_time(ASCII)  # builds the decoy hash first
    monkeypatch.setattr(hasher._hash, "verify", counting)

    for typed in (DECOMPOSED, ASCII):
        checks.clear()
        await hasher.verify(typed, real)
        against_real = len(checks)
        checks.clear()
        await hasher.burn_time(typed)
        assert len(checks) == against_real
    assert against_real == 1  # ASCII: NFKC changes nothing, one check
