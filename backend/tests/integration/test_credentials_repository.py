"""One-time link tokens and MFA recovery codes, on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.credentials import OneTimeToken, TokenPurpose
from app.domain.entities.user import User
from app.domain.value_objects.recovery_code import hash_recovery_code, new_recovery_codes
from app.infrastructure.models.user import UserModel
from app.infrastructure.repositories.credentials import (
    SqlAlchemyOneTimeTokenRepository,
    SqlAlchemyRecoveryCodeRepository,
)
from tests.builders import make_one_time_token
from tests.fakes import DEFAULT_NOW
from tests.integration.stored import stored_user

LATER = DEFAULT_NOW + timedelta(minutes=5)


def issue(user: User, purpose: TokenPurpose = TokenPurpose.PASSWORD_RESET) -> OneTimeToken:
    return make_one_time_token(user_id=user.id, purpose=purpose)


async def test_a_token_round_trips_with_only_the_hash_of_its_secret(
    connection: AsyncConnection,
) -> None:
    user = await stored_user(connection)
    tokens = SqlAlchemyOneTimeTokenRepository(connection)
    token, link_token = OneTimeToken.issue(
        user_id=user.id, purpose=TokenPurpose.EMAIL_VERIFICATION, now=DEFAULT_NOW
    )

    await tokens.add(token)

    assert await tokens.get(token.id) == token
    assert await tokens.get(uuid4()) is None
    secret = link_token.split(".", 1)[1]
    stored = (await connection.execute(text("SELECT token_hash FROM one_time_tokens"))).scalar()
    assert stored == token.token_hash
    assert secret not in str(stored)


async def test_a_token_is_spent_once(connection: AsyncConnection) -> None:
    user = await stored_user(connection)
    tokens = SqlAlchemyOneTimeTokenRepository(connection)
    token = issue(user)
    await tokens.add(token)

    assert await tokens.mark_used(token.id, LATER) is True
    assert await tokens.mark_used(token.id, LATER) is False
    assert await tokens.mark_used(uuid4(), LATER) is False
    spent = await tokens.get(token.id)
    assert spent is not None
    assert spent.used_at == LATER


async def test_deleting_for_a_user_keeps_other_purposes_and_users(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    tokens = SqlAlchemyOneTimeTokenRepository(connection)
    resets = [issue(alice), issue(alice)]
    verification = issue(alice, TokenPurpose.EMAIL_VERIFICATION)
    bobs = issue(bob)
    for token in (*resets, verification, bobs):
        await tokens.add(token)

    assert await tokens.delete_for_user(alice.id, TokenPurpose.PASSWORD_RESET) == 2

    assert [await tokens.get(t.id) for t in resets] == [None, None]
    assert await tokens.get(verification.id) == verification
    assert await tokens.get(bobs.id) == bobs


async def test_recovery_codes_are_stored_hashed_and_each_works_once(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    codes = SqlAlchemyRecoveryCodeRepository(connection)
    plain = new_recovery_codes()
    await codes.replace_all(alice.id, [hash_recovery_code(c) for c in plain])

    assert await codes.use(bob.id, hash_recovery_code(plain[0]), LATER) is False  # not bob's
    assert await codes.use(alice.id, hash_recovery_code(plain[0]), LATER) is True
    assert await codes.use(alice.id, hash_recovery_code(plain[0]), LATER) is False
    assert await codes.use(alice.id, hash_recovery_code(plain[1].upper()), LATER) is True
    stored = set((await connection.execute(text("SELECT code_hash FROM recovery_codes"))).scalars())
    assert stored == {hash_recovery_code(c) for c in plain}  # hashes only, never a code
    assert not stored & set(plain)


async def test_replacing_recovery_codes_voids_the_old_ones(connection: AsyncConnection) -> None:
    alice = await stored_user(connection)
    codes = SqlAlchemyRecoveryCodeRepository(connection)
    old, new = new_recovery_codes(), new_recovery_codes()
    await codes.replace_all(alice.id, [hash_recovery_code(c) for c in old])

    await codes.replace_all(alice.id, [hash_recovery_code(c) for c in new])

    assert await codes.use(alice.id, hash_recovery_code(old[0]), LATER) is False
    assert await codes.use(alice.id, hash_recovery_code(new[0]), LATER) is True
    await codes.delete_all(alice.id)
    assert await codes.use(alice.id, hash_recovery_code(new[1]), LATER) is False


async def test_a_users_tokens_and_codes_go_with_the_user(connection: AsyncConnection) -> None:
    alice = await stored_user(connection)
    tokens = SqlAlchemyOneTimeTokenRepository(connection)
    token = issue(alice)
    await tokens.add(token)
    await SqlAlchemyRecoveryCodeRepository(connection).replace_all(
        alice.id, [hash_recovery_code(c) for c in new_recovery_codes()]
    )

    await connection.execute(delete(UserModel).where(UserModel.id == alice.id))

    assert await tokens.get(token.id) is None
    remaining = await connection.scalar(text("SELECT count(*) FROM recovery_codes"))
    assert remaining == 0
