"""Changing the access policy records `AccessPolicyChanged` with the change, and relays it after
the commit; a refused or impossible change tells nobody."""

from __future__ import annotations

from typing import Literal

import pytest

from app.application.interfaces.access import (
    PolicyLockoutError,
    PolicyRule,
    PolicyRuleExistsError,
    PolicyRuleNotFoundError,
)
from app.application.request_context import RequestContext
from app.application.use_cases.access.change_policy import ChangePolicy
from app.domain.entities.user import AdminRequiredError, Role
from app.domain.errors import InvalidValueError
from app.domain.events.access import AccessPolicyChanged
from tests.builders import make_user
from tests.fakes import FakeAccessPolicy, FakeClock, FakeEventPublisher, FakeUnitOfWork
from tests.unit.application.outbox import assert_nobody_told, assert_told_after_commit

CONTEXT = RequestContext(ip="198.51.100.7", request_id="req-42")
ADMIN = make_user(email="root@example.com", role=Role.ADMIN)
NEW_RULE = PolicyRule("user", "product", "read", "all")
ADMIN_MANAGES_ALL = PolicyRule("admin", "*", "*", "all")
OBJECT_TYPES = ("resource", "file", "policy", "product")


@pytest.fixture
def events(uow: FakeUnitOfWork) -> FakeEventPublisher:
    return FakeEventPublisher(uow)


@pytest.fixture
def change(uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher) -> ChangePolicy:
    policy = FakeAccessPolicy(source=uow.fake_policy_rules)
    return ChangePolicy(policy, uow, clock, object_types=OBJECT_TYPES, events=events)


def changed(
    clock: FakeClock, change: Literal["added", "removed"], rule: PolicyRule
) -> AccessPolicyChanged:
    return AccessPolicyChanged(
        occurred_at=clock.now(),
        change=change,
        role=rule.role,
        object_type=rule.object_type,
        action=rule.action,
        scope=rule.scope,
    )


async def test_adding_a_rule_records_and_relays_it(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, change: ChangePolicy
) -> None:
    await change.add(ADMIN, NEW_RULE, CONTEXT)

    assert_told_after_commit(uow, events, changed(clock, "added", NEW_RULE))


async def test_removing_a_rule_records_and_relays_it(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, change: ChangePolicy
) -> None:
    await change.add(ADMIN, NEW_RULE, CONTEXT)
    clock.advance()
    await change.remove(ADMIN, NEW_RULE, CONTEXT)

    expected = [changed(clock, "removed", NEW_RULE)]
    assert [e for e in uow.fake_outbox.committed_events if e.change == "removed"] == expected
    assert events.published[1:] == expected
    assert events.commits_at_publish == [1, 2]
    assert not events.published_inside_transaction


async def test_a_refused_invalid_or_impossible_change_tells_nobody(
    uow: FakeUnitOfWork, events: FakeEventPublisher, change: ChangePolicy
) -> None:
    with pytest.raises(AdminRequiredError):
        await change.add(make_user(), NEW_RULE, CONTEXT)
    with pytest.raises(InvalidValueError):
        await change.add(ADMIN, PolicyRule("root", "product", "read", "all"), CONTEXT)
    with pytest.raises(PolicyRuleNotFoundError):
        await change.remove(ADMIN, NEW_RULE, CONTEXT)
    with pytest.raises(PolicyRuleExistsError):
        await change.add(ADMIN, ADMIN_MANAGES_ALL, CONTEXT)
    with pytest.raises(PolicyLockoutError):
        await change.remove(ADMIN, ADMIN_MANAGES_ALL, CONTEXT)

    assert_nobody_told(uow, events)
