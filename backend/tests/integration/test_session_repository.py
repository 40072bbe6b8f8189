"""The session repository and the user-in-session query, on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import delete, insert, make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.session import SPENT_SECRETS_KEPT, Session
from app.domain.entities.user import User
from app.infrastructure.database import migrations
from app.infrastructure.database.engine import Database
from app.infrastructure.models.session import SessionModel
from app.infrastructure.models.user import UserModel
from app.infrastructure.repositories.session import SqlAlchemySessionRepository
from app.infrastructure.repositories.user import SqlAlchemyUserRepository
from tests.builders import make_session, make_user
from tests.conftest import empty_all_tables
from tests.databases import fresh_database
from tests.fakes import DEFAULT_NOW
from tests.integration.stored import stored_user

LIFETIME = timedelta(days=30)
OLD_SESSION_ID = UUID("01900000-0000-7000-8000-0000000000aa")


def new_session(user: User, *, minutes_later: int = 0) -> Session:
    return make_session(
        user_id=user.id,
        now=DEFAULT_NOW + timedelta(minutes=minutes_later),
        lifetime=LIFETIME,
        user_agent="Mozilla/5.0 (X11)",
        ip="2001:db8::1",
    )


async def test_a_session_round_trips(connection: AsyncConnection) -> None:
    user = await stored_user(connection)
    sessions = SqlAlchemySessionRepository(connection)
    session = new_session(user)

    await sessions.add(session)

    assert await sessions.get(session.id) == session
    assert await sessions.get(new_session(user).id) is None


async def test_rotate_succeeds_once_from_the_expected_hash(connection: AsyncConnection) -> None:
    user = await stored_user(connection)
    sessions = SqlAlchemySessionRepository(connection)
    session = new_session(user)
    await sessions.add(session)
    rotated, _ = session.rotated(
        now=DEFAULT_NOW + timedelta(hours=1), lifetime=LIFETIME, user_agent="new", ip="192.0.2.1"
    )

    assert await sessions.rotate(rotated, previous_hash=session.refresh_token_hash) is True
    assert await sessions.rotate(rotated, previous_hash=session.refresh_token_hash) is False
    assert await sessions.get(session.id) == rotated


async def test_rotation_keeps_the_hashes_of_spent_secrets(connection: AsyncConnection) -> None:
    user = await stored_user(connection)
    sessions = SqlAlchemySessionRepository(connection)
    session, first = Session.start(
        user_id=user.id, now=DEFAULT_NOW, lifetime=LIFETIME, user_agent=None, ip=None
    )
    await sessions.add(session)
    current, previous = session, session
    for _ in range(SPENT_SECRETS_KEPT + 1):
        previous = current
        current, _ = current.rotated(now=DEFAULT_NOW, lifetime=LIFETIME, user_agent=None, ip=None)
        assert await sessions.rotate(current, previous_hash=previous.refresh_token_hash)

    stored = await sessions.get(session.id)

    assert stored == current
    assert stored is not None
    assert len(stored.spent_token_hashes) == SPENT_SECRETS_KEPT
    assert stored.spent_token_hashes[0] == previous.refresh_token_hash
    assert not stored.spent(first.partition(".")[2])  # the oldest fell out of the history


async def test_sessions_of_before_the_spent_history_read_as_having_spent_nothing(
    backend: str, tmp_path: Path
) -> None:
    user = make_user()
    async with fresh_database(backend, tmp_path, migrate=False) as url:
        await asyncio.to_thread(migrations.upgrade, url, "0006")
        database = Database(url)
        try:
            async with database.engine.begin() as connection:
                await SqlAlchemyUserRepository(connection).add(user)
                # Only the columns of 0006 (no spent history yet).
                await connection.execute(
                    insert(SessionModel.__table__).values(
                        id=OLD_SESSION_ID,
                        user_id=user.id,
                        refresh_token_hash="ab" * 32,
                        created_at=DEFAULT_NOW,
                        last_used_at=DEFAULT_NOW,
                        expires_at=DEFAULT_NOW,
                    )
                )
        finally:
            await database.dispose()
        await asyncio.to_thread(migrations.upgrade, url, "head")
        database = Database(url)
        try:
            async with database.engine.connect() as connection:
                stored = await SqlAlchemySessionRepository(connection).get(OLD_SESSION_ID)
        finally:
            await database.dispose()

    assert stored is not None
    assert (stored.refresh_token_hash, stored.spent_token_hashes) == ("ab" * 32, ())


async def test_listing_shows_a_users_unexpired_sessions_newest_first(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    sessions = SqlAlchemySessionRepository(connection)
    older, newer, expired = (new_session(alice, minutes_later=m) for m in (1, 2, -60 * 24 * 31))
    for session in (older, newer, expired, new_session(bob)):
        await sessions.add(session)

    assert await sessions.list_active(alice.id, DEFAULT_NOW + timedelta(minutes=5)) == [
        newer,
        older,
    ]
    assert await sessions.prune(alice.id, DEFAULT_NOW, keep=10) == 1
    assert await sessions.get(expired.id) is None


async def test_the_sweep_deletes_expired_sessions_of_anyone_a_batch_at_a_time(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    sessions = SqlAlchemySessionRepository(connection)
    month_ago = -60 * 24 * 31
    expired = [new_session(user, minutes_later=month_ago) for user in (alice, bob, bob)]
    live = [new_session(alice), new_session(bob)]
    for session in (*expired, *live):
        await sessions.add(session)

    assert await sessions.delete_expired_of_anyone(DEFAULT_NOW, limit=2) == 2
    assert await sessions.delete_expired_of_anyone(DEFAULT_NOW, limit=2) == 1
    assert await sessions.delete_expired_of_anyone(DEFAULT_NOW, limit=2) == 0
    assert [await sessions.get(s.id) for s in expired] == [None, None, None]
    assert [await sessions.get(s.id) for s in live] == live


async def test_pruning_drops_expired_sessions_first_then_the_oldest_live_ones(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    sessions = SqlAlchemySessionRepository(connection)
    day = 60 * 24
    old_live = new_session(alice, minutes_later=-2 * day)
    newer_but_expired = make_session(
        user_id=alice.id, now=DEFAULT_NOW - timedelta(days=1), lifetime=timedelta(hours=1)
    )
    newest = new_session(alice)
    bobs = new_session(bob, minutes_later=-3 * day)
    for session in (old_live, newer_but_expired, newest, bobs):
        await sessions.add(session)

    assert await sessions.prune(alice.id, DEFAULT_NOW, keep=2) == 1
    assert await sessions.get(newer_but_expired.id) is None
    assert await sessions.prune(alice.id, DEFAULT_NOW, keep=1) == 1
    assert [s.id for s in await sessions.list_active(alice.id, DEFAULT_NOW)] == [newest.id]
    assert await sessions.get(bobs.id) == bobs


async def test_revocations(connection: AsyncConnection) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    sessions = SqlAlchemySessionRepository(connection)
    mine = [new_session(alice, minutes_later=m) for m in range(5)]
    theirs = new_session(bob)
    for session in (*mine, theirs):
        await sessions.add(session)

    assert await sessions.prune(alice.id, DEFAULT_NOW, keep=3) == 2
    assert [s.id for s in await sessions.list_active(alice.id, DEFAULT_NOW)] == [
        s.id for s in reversed(mine[2:])
    ]
    assert await sessions.delete(mine[2].id) is True
    assert await sessions.delete(mine[2].id) is False
    assert await sessions.delete_all_for_user(alice.id, keep=mine[4].id) == 1
    assert [s.id for s in await sessions.list_active(alice.id, DEFAULT_NOW)] == [mine[4].id]
    assert await sessions.delete_all_for_user(alice.id) == 1
    assert await sessions.get(theirs.id) == theirs


async def test_the_user_is_found_only_within_a_live_session_of_theirs(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection)
    bob = await stored_user(connection, "bob@example.com")
    users = SqlAlchemyUserRepository(connection)
    sessions = SqlAlchemySessionRepository(connection)
    session = new_session(alice)
    await sessions.add(session)

    assert await users.get_in_session(alice.id, session.id, DEFAULT_NOW) == alice
    assert await users.get_in_session(bob.id, session.id, DEFAULT_NOW) is None
    assert await users.get_in_session(alice.id, session.id, session.expires_at) is None
    await sessions.delete(session.id)
    assert await users.get_in_session(alice.id, session.id, DEFAULT_NOW) is None


async def test_deleting_a_user_takes_their_sessions(connection: AsyncConnection) -> None:
    alice = await stored_user(connection)
    sessions = SqlAlchemySessionRepository(connection)
    session = new_session(alice)
    await sessions.add(session)

    users = UserModel.__table__
    await connection.execute(delete(users).where(users.c.id == alice.id))

    assert await sessions.get(session.id) is None


async def test_users_are_paged_by_id_and_updated_optimistically(
    connection: AsyncConnection,
) -> None:
    users = SqlAlchemyUserRepository(connection)
    stored = sorted(
        [await stored_user(connection, f"user{i}@example.com") for i in range(3)],
        key=lambda u: u.id,
    )

    assert await users.list_page(after=None, limit=2) == stored[:2]
    assert await users.list_page(after=stored[1].id, limit=2) == stored[2:]

    renamed = stored[0].changed(DEFAULT_NOW + timedelta(hours=1), full_name="Ada")
    assert await users.update(renamed, expected_version=stored[0].version) is True
    assert await users.update(renamed, expected_version=stored[0].version) is False
    assert await users.get(renamed.id) == renamed


async def test_the_sweep_passes_over_sessions_a_concurrent_transaction_holds(
    database: Database, database_url: str
) -> None:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite has one writer at a time: no row locks to pass over")
    month_ago = -60 * 24 * 31
    try:
        async with database.engine.begin() as setup:
            alice = await stored_user(setup)
            held, free = (new_session(alice, minutes_later=month_ago) for _ in range(2))
            for session in (held, free):
                await SqlAlchemySessionRepository(setup).add(session)

        async with database.engine.connect() as pruning, database.engine.connect() as sweeping:
            await pruning.begin()
            await pruning.execute(
                text("SELECT id FROM sessions WHERE id = :id FOR UPDATE"), {"id": held.id}
            )
            await sweeping.begin()
            swept = await asyncio.wait_for(
                SqlAlchemySessionRepository(sweeping).delete_expired_of_anyone(
                    DEFAULT_NOW, limit=10
                ),
                timeout=5,
            )
            await sweeping.commit()
            await pruning.rollback()

        assert swept == 1
        async with database.engine.connect() as reading:
            remaining = SqlAlchemySessionRepository(reading)
            assert (await remaining.get(held.id), await remaining.get(free.id)) == (held, None)
    finally:
        await empty_all_tables(database_url)
