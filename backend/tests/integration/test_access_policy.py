"""Casbin's access policy and the stored policy rules, on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.access import (
    PolicyRule,
    PolicyRuleExistsError,
)
from app.application.interfaces.product import PRODUCT_OBJECT_TYPES
from app.application.request_context import RequestContext
from app.application.use_cases.access.change_policy import ChangePolicy
from app.domain.entities.user import Role
from app.infrastructure.adapters.access_policy import CasbinAccessPolicy
from app.infrastructure.adapters.clock import SystemClock
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.access import SqlAlchemyPolicyRuleRepository
from app.infrastructure.repositories.unit_of_work import SqlAlchemyUnitOfWork
from tests.builders import make_user
from tests.conftest import migrated_policy_rules
from tests.databases import fresh_database, registered_features, sql_unit_of_work

USER_READS_PRODUCTS = PolicyRule("user", "product", "read", "all")
USER_CREATES_RESOURCES = PolicyRule("user", "resource", "create", "own")
CONTEXT = RequestContext(ip="192.0.2.10", request_id="req-policy")


def unit_of_work(database: Database) -> SqlAlchemyUnitOfWork:
    return sql_unit_of_work(database.engine, write_gate=database.write_gate)


async def committed_rules(database: Database) -> list[PolicyRule]:
    async with unit_of_work(database) as uow:
        return await uow.policy_rules.list_rules()


async def change_stored_policy(
    database: Database, *, add: PolicyRule | None = None, remove: PolicyRule | None = None
) -> None:
    async with unit_of_work(database) as uow:
        await uow.policy_rules.claim_change()
        if add is not None:
            await uow.policy_rules.add(add)
        if remove is not None:
            assert await uow.policy_rules.remove(remove)
        await uow.commit()


@pytest_asyncio.fixture
async def database(database: Database, database_url: str) -> AsyncIterator[Database]:
    """These tests commit policy changes; what the migrations stored is back afterwards, and the
    events the changes recorded are gone (the outbox tests count what is in it)."""
    yield database
    async with unit_of_work(database) as uow:
        await uow.policy_rules.claim_change()
        for rule in await uow.policy_rules.list_rules():
            await uow.policy_rules.remove(rule)
        for rule in migrated_policy_rules(database_url):
            await uow.policy_rules.add(rule)
        await uow.commit()
    async with database.engine.begin() as connection:
        await connection.execute(text("DELETE FROM outbox WHERE name = 'AccessPolicyChanged'"))


@pytest_asyncio.fixture
async def policy(database: Database) -> CasbinAccessPolicy:
    policy = CasbinAccessPolicy(database.read_engine)
    await policy.warm_up()
    return policy


# ---------------------------------------------------------------- the seeded defaults


@pytest.mark.parametrize(
    ("action", "object_type"),
    [
        ("create", "resource"),
        ("delete", "file"),
        ("update", "policy"),
        ("read", "audit"),
        ("delete", "product"),
        ("anything", "whatever"),
    ],
)
async def test_an_admin_may_do_everything_by_default(
    policy: CasbinAccessPolicy, action: str, object_type: str
) -> None:
    admin = make_user(role=Role.ADMIN)

    assert await policy.allows(admin, action, object_type)
    assert await policy.allows(admin, action, object_type, owner_id=make_user().id)


@pytest.mark.parametrize("action", ["create", "read", "update", "delete"])
@pytest.mark.parametrize("object_type", ["resource", "file"])
async def test_a_user_may_act_on_what_they_own_only(
    policy: CasbinAccessPolicy, action: str, object_type: str
) -> None:
    alice, bob = make_user(), make_user(email="bob@example.com")

    assert await policy.allows(alice, action, object_type, owner_id=alice.id)
    assert not await policy.allows(alice, action, object_type, owner_id=bob.id)
    assert not await policy.allows(alice, action, object_type)  # owner unknown: not hers


@pytest.mark.parametrize(
    ("action", "object_type"),
    [("read", "policy"), ("update", "policy"), ("read", "audit"), ("create", "product")],
)
async def test_a_user_may_do_nothing_else_even_on_their_own(
    policy: CasbinAccessPolicy, action: str, object_type: str
) -> None:
    alice = make_user()

    assert not await policy.allows(alice, action, object_type)
    assert not await policy.allows(alice, action, object_type, owner_id=alice.id)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.USER])
async def test_an_inactive_user_is_allowed_nothing(policy: CasbinAccessPolicy, role: Role) -> None:
    inactive = make_user(role=role, is_active=False)

    assert not await policy.allows(inactive, "read", "resource", owner_id=inactive.id)
    assert not await policy.allows(inactive, "update", "policy")


# ---------------------------------------------------------------- changes


async def test_a_rule_added_then_removed_is_obeyed_after_a_refresh(
    policy: CasbinAccessPolicy, database: Database
) -> None:
    alice = make_user()

    await change_stored_policy(database, add=USER_READS_PRODUCTS)
    await policy.refresh()
    allowed_after_adding = await policy.allows(alice, "read", "product")
    await change_stored_policy(database, remove=USER_READS_PRODUCTS)
    await policy.refresh()

    assert allowed_after_adding
    assert not await policy.allows(alice, "read", "product")
    assert not await policy.allows(alice, "update", "product")


async def test_the_policy_persists_for_a_new_enforcer(database: Database) -> None:
    alice = make_user()
    await change_stored_policy(database, add=USER_READS_PRODUCTS, remove=USER_CREATES_RESOURCES)

    fresh = CasbinAccessPolicy(database.read_engine)  # loads on its first question

    assert await fresh.allows(alice, "read", "product")
    assert not await fresh.allows(alice, "create", "resource", owner_id=alice.id)
    assert await fresh.allows(alice, "read", "resource", owner_id=alice.id)


async def test_another_process_obeys_a_change_within_its_refresh_interval(
    database: Database,
) -> None:
    alice = make_user()
    watching = CasbinAccessPolicy(database.read_engine, refresh_interval=0.1)
    await watching.warm_up()
    assert await watching.allows(alice, "create", "resource", owner_id=alice.id)

    await change_stored_policy(database, remove=USER_CREATES_RESOURCES)
    started = time.monotonic()
    for _ in range(100):
        if not await watching.allows(alice, "create", "resource", owner_id=alice.id):
            break
        await asyncio.sleep(0.01)
    waited = time.monotonic() - started

    assert not await watching.allows(alice, "create", "resource", owner_id=alice.id)
    assert waited < 0.5


async def test_a_process_does_not_reread_the_policy_before_its_interval(
    database: Database,
) -> None:
    alice = make_user()
    cached = CasbinAccessPolicy(database.read_engine, refresh_interval=3_600)
    await cached.warm_up()

    await change_stored_policy(database, add=USER_READS_PRODUCTS)

    assert not await cached.allows(alice, "read", "product")  # what it loaded, for the hour
    await cached.refresh()
    assert await cached.allows(alice, "read", "product")


async def test_an_unchanged_version_keeps_the_loaded_enforcer(database: Database) -> None:
    policy = CasbinAccessPolicy(database.read_engine, refresh_interval=0)
    loaded = await policy.load()

    assert await policy.allows(make_user(role=Role.ADMIN), "read", "audit")
    assert await policy.allows(make_user(role=Role.ADMIN), "read", "policy")
    assert policy._policy is loaded


async def test_a_policy_unreadable_at_start_up_is_logged_and_read_at_the_next_question(
    caplog: pytest.LogCaptureFixture,
) -> None:
    unreachable = Database("postgresql+asyncpg://strata@127.0.0.1:9/nowhere", pool_timeout=1)
    try:
        policy = CasbinAccessPolicy(unreachable.read_engine)
        with caplog.at_level(logging.WARNING, logger="strata.access"):
            await policy.warm_up()
        assert "access policy not loaded at start-up" in caplog.text
        with pytest.raises(ConnectionRefusedError):  # it tries again, and says why it cannot
            await policy.allows(make_user(), "read", "resource")
    finally:
        await unreachable.dispose()


async def test_concurrent_identical_additions_store_the_rule_once(database: Database) -> None:
    admin = make_user(role=Role.ADMIN)
    policy = CasbinAccessPolicy(database.read_engine)
    change = [
        ChangePolicy(
            policy, unit_of_work(database), SystemClock(), object_types=PRODUCT_OBJECT_TYPES
        )
        for _ in range(4)
    ]

    outcomes = await asyncio.gather(
        *(each.add(admin, USER_READS_PRODUCTS, CONTEXT) for each in change),
        return_exceptions=True,
    )

    assert outcomes.count(USER_READS_PRODUCTS) == 1
    assert [type(o) for o in outcomes if o != USER_READS_PRODUCTS] == [PolicyRuleExistsError] * 3
    assert (await committed_rules(database)).count(USER_READS_PRODUCTS) == 1


# ---------------------------------------------------------------- the stored rules


async def test_a_freshly_migrated_database_holds_every_features_default_rules(
    backend: str, tmp_path: Path
) -> None:
    declared = set(registered_features().policy_rules)
    async with fresh_database(backend, tmp_path) as url:
        database = Database(url)
        try:
            stored = await committed_rules(database)
        finally:
            await database.dispose()

    assert stored == sorted(declared)  # each rule once, none missing, none extra


async def test_stored_rules_are_added_removed_and_each_change_claims_a_version(
    connection: AsyncConnection, database_url: str
) -> None:
    migrated = migrated_policy_rules(database_url)
    rules = SqlAlchemyPolicyRuleRepository(connection)
    version = text("SELECT version FROM access_policy_version WHERE id = 1")
    before = await connection.scalar(version)

    await rules.claim_change()
    await rules.add(USER_READS_PRODUCTS)
    listed = await rules.list_rules()
    removed = await rules.remove(USER_READS_PRODUCTS)
    removed_again = await rules.remove(USER_READS_PRODUCTS)

    assert await connection.scalar(version) == before + 1
    assert listed == sorted([*migrated, USER_READS_PRODUCTS])
    assert (removed, removed_again) == (True, False)
    assert await rules.list_rules() == migrated


async def test_remembered_decisions_are_casbins_own_for_every_question(database: Database) -> None:
    """The memo answers from (role, object type, action, whose object): for every such question
    on the stored policy, and for different users of one role, it says what Casbin says."""
    await change_stored_policy(database, add=USER_CREATES_RESOURCES)
    policy = CasbinAccessPolicy(database.read_engine)
    loaded = await policy.load()
    rules = await committed_rules(database)
    object_types = {rule.object_type for rule in rules} | {"resource", "nothing-by-that-name"}
    actions = {rule.action for rule in rules} | {"read", "delete", "no-such-action"}
    users = [make_user(role=role, email=f"{role}-{n}@example.com") for role in Role for n in (1, 2)]
    questions = 0
    for _round in range(2):  # the second round is answered from the memo
        for user in users:
            stranger = make_user(email="stranger@example.com")
            for object_type in sorted(object_types):
                for action in sorted(actions):
                    for owner in (None, user.id, stranger.id):
                        casbin_says = loaded.enforcer.enforce(
                            str(user.id),
                            user.role.value,
                            object_type,
                            action,
                            "" if owner is None else str(owner),
                        )
                        assert await policy.allows(
                            user, action, object_type, owner_id=owner
                        ) is bool(casbin_says), (user.role, object_type, action, owner)
                        questions += 1
    assert questions > 100
    assert 0 < len(loaded.decisions) <= len(Role) * len(object_types) * len(actions) * 3


async def test_a_reload_forgets_the_remembered_decisions(database: Database) -> None:
    policy = CasbinAccessPolicy(database.read_engine, refresh_interval=3600)
    alice = make_user()
    assert not await policy.allows(alice, "read", "audit", owner_id=alice.id)

    await change_stored_policy(database, add=PolicyRule("user", "audit", "read", "own"))
    assert not await policy.allows(alice, "read", "audit", owner_id=alice.id)  # the memo
    await policy.refresh()

    assert await policy.allows(alice, "read", "audit", owner_id=alice.id)
    assert not await policy.allows(alice, "read", "audit", owner_id=make_user().id)


async def test_the_version_is_checked_ahead_in_the_background(database: Database) -> None:
    """Past most of the interval a question is answered at once and starts the check; a change
    made meanwhile is then obeyed without any request having waited for the database."""
    interval = 60.0
    policy = CasbinAccessPolicy(database.read_engine, refresh_interval=interval)
    alice = make_user()
    assert not await policy.allows(alice, "read", "audit", owner_id=alice.id)
    await change_stored_policy(database, add=PolicyRule("user", "audit", "read", "own"))

    policy._checked_at = time.monotonic() - interval * 0.9  # most of the interval gone
    assert not await policy.allows(alice, "read", "audit", owner_id=alice.id)  # at once, as loaded
    check = policy._check_ahead
    assert check is not None
    await check

    assert policy._check_ahead is None
    assert time.monotonic() - policy._checked_at < interval * 0.5
    assert await policy.allows(alice, "read", "audit", owner_id=alice.id)


async def test_no_check_ahead_early_in_the_interval(database: Database) -> None:
    policy = CasbinAccessPolicy(database.read_engine, refresh_interval=60.0)
    await policy.allows(make_user(), "read", "product")

    assert policy._check_ahead is None


async def test_a_failed_check_ahead_is_logged_and_left_to_the_next_stale_question(
    database: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    interval = 60.0
    policy = CasbinAccessPolicy(database.read_engine, refresh_interval=interval)
    await policy.load()

    async def unreachable() -> int:
        raise ConnectionRefusedError()

    monkeypatch.setattr(policy, "_read_version", unreachable)
    policy._checked_at = time.monotonic() - interval * 0.9
    with caplog.at_level(logging.WARNING, logger="strata.access"):
        assert await policy.allows(make_user(role=Role.ADMIN), "read", "audit")
        check = policy._check_ahead
        assert check is not None
        await check
    assert "access policy check failed" in caplog.text
    assert policy._check_ahead is None

    policy._checked_at = time.monotonic() - interval  # now stale: the request checks itself
    with pytest.raises(ConnectionRefusedError):
        await policy.allows(make_user(role=Role.ADMIN), "read", "audit")
