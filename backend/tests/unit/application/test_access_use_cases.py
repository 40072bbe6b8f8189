"""Administrators read and change the access policy and read the audit trail (with fakes)."""

from __future__ import annotations

import pytest

from app.application.interfaces.access import (
    PolicyLockoutError,
    PolicyRule,
    PolicyRuleExistsError,
    PolicyRuleNotFoundError,
)
from app.application.interfaces.audit import AuditFilter
from app.application.pagination import InvalidCursorError, encode_cursor
from app.application.request_context import RequestContext
from app.application.use_cases.access.change_policy import ChangePolicy, manages_policy
from app.application.use_cases.access.list_policy_rules import ListPolicyRules
from app.application.use_cases.audit.list_audit_events import ListAuditEvents
from app.domain.entities.audit import AuditEvent
from app.domain.entities.user import AdminRequiredError, Role, User
from app.domain.errors import InvalidValueError
from tests.builders import make_audit_event, make_user
from tests.fakes import DEFAULT_POLICY_RULES, FakeAccessPolicy, FakeClock, FakeUnitOfWork

CONTEXT = RequestContext(ip="198.51.100.7", request_id="req-42")
NEW_RULE = PolicyRule("user", "product", "read", "all")
ADMIN_MANAGES_ALL = PolicyRule("admin", "*", "*", "all")
OBJECT_TYPES = ("resource", "file", "policy", "audit", "user", "product", "payment")


@pytest.fixture
def admin() -> User:
    return make_user(email="root@example.com", role=Role.ADMIN)


@pytest.fixture
def alice() -> User:
    return make_user(email="alice@example.com")


@pytest.fixture
def policy(uow: FakeUnitOfWork) -> FakeAccessPolicy:
    return FakeAccessPolicy(source=uow.fake_policy_rules)


@pytest.fixture
def change(policy: FakeAccessPolicy, uow: FakeUnitOfWork, clock: FakeClock) -> ChangePolicy:
    return ChangePolicy(policy, uow, clock, object_types=OBJECT_TYPES)


# ---------------------------------------------------------------- listing the rules


async def test_an_admin_lists_the_stored_rules_sorted(
    policy: FakeAccessPolicy, uow: FakeUnitOfWork, admin: User
) -> None:
    rules = await ListPolicyRules(policy, uow).execute(admin)

    assert rules == sorted(DEFAULT_POLICY_RULES)


@pytest.mark.parametrize(
    "who",
    [make_user(), make_user(role=Role.ADMIN, is_active=False)],
    ids=["user", "inactive-admin"],
)
async def test_only_active_admins_list_the_rules(
    policy: FakeAccessPolicy, uow: FakeUnitOfWork, who: User
) -> None:
    with pytest.raises(AdminRequiredError):
        await ListPolicyRules(policy, uow).execute(who)
    assert uow.entered == 0


async def test_a_user_granted_read_on_policy_lists_the_rules(uow: FakeUnitOfWork) -> None:
    policy = FakeAccessPolicy([PolicyRule("user", "policy", "read", "all")])

    assert await ListPolicyRules(policy, uow).execute(make_user()) == sorted(DEFAULT_POLICY_RULES)


# ---------------------------------------------------------------- adding


async def test_an_added_rule_is_stored_audited_and_obeyed_in_one_commit(
    change: ChangePolicy,
    policy: FakeAccessPolicy,
    uow: FakeUnitOfWork,
    admin: User,
    alice: User,
    clock: FakeClock,
) -> None:
    assert not await policy.allows(alice, "read", "product")

    added = await change.add(admin, NEW_RULE, CONTEXT)

    assert added == NEW_RULE
    assert NEW_RULE in uow.fake_policy_rules.committed
    assert uow.fake_policy_rules.version == 1
    assert uow.committed == 1
    [event] = uow.fake_audit_events.committed
    assert (event.action, event.actor_id, event.target_type) == ("policy.add", admin.id, "policy")
    assert (event.ip, event.request_id, event.occurred_at) == (
        "198.51.100.7",
        "req-42",
        clock.now(),
    )
    assert event.details == {
        "role": "user",
        "object_type": "product",
        "action": "read",
        "scope": "all",
    }
    assert policy.refreshes == 1
    assert await policy.allows(alice, "read", "product")


async def test_a_duplicate_rule_is_a_conflict_and_changes_nothing(
    change: ChangePolicy, policy: FakeAccessPolicy, uow: FakeUnitOfWork, admin: User
) -> None:
    with pytest.raises(PolicyRuleExistsError):
        await change.add(admin, DEFAULT_POLICY_RULES[1], CONTEXT)

    assert uow.committed == 0
    assert uow.fake_policy_rules.committed == sorted(DEFAULT_POLICY_RULES)
    assert uow.fake_policy_rules.version == 0
    assert uow.fake_audit_events.committed == []
    assert policy.refreshes == 0


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (PolicyRule("root", "resource", "read", "all"), "role"),
        (PolicyRule("Admin", "resource", "read", "all"), "role"),
        (PolicyRule("user", "bank", "read", "all"), "object_type"),
        (PolicyRule("user", "resource", "launch", "all"), "action"),
        (PolicyRule("user", "resource", "read", "some"), "scope"),
        (PolicyRule("user", "resource ", "read", "all"), "object_type"),
        (PolicyRule("", "resource", "read", "all"), "role"),
    ],
)
async def test_an_invalid_rule_names_the_field_and_stores_nothing(
    change: ChangePolicy, uow: FakeUnitOfWork, admin: User, rule: PolicyRule, field: str
) -> None:
    with pytest.raises(InvalidValueError) as raised:
        await change.add(admin, rule, CONTEXT)
    with pytest.raises(InvalidValueError):
        await change.remove(admin, rule, CONTEXT)

    assert raised.value.field == field
    assert uow.entered == 0


async def test_a_rule_names_one_of_the_object_types_it_was_given_or_any(
    policy: FakeAccessPolicy, uow: FakeUnitOfWork, clock: FakeClock, admin: User
) -> None:
    change = ChangePolicy(policy, uow, clock, object_types=("widget",))

    widgets = await change.add(admin, PolicyRule("user", "widget", "read", "all"), CONTEXT)
    anything = await change.add(admin, PolicyRule("user", "*", "read", "own"), CONTEXT)
    with pytest.raises(InvalidValueError) as raised:
        await change.add(admin, NEW_RULE, CONTEXT)  # "product" was not given

    assert raised.value.field == "object_type"
    assert {widgets, anything} <= set(uow.fake_policy_rules.committed)
    assert NEW_RULE not in uow.fake_policy_rules.committed


@pytest.mark.parametrize(
    "who",
    [make_user(), make_user(role=Role.ADMIN, is_active=False)],
    ids=["user", "inactive-admin"],
)
async def test_only_active_admins_change_the_policy(
    change: ChangePolicy, uow: FakeUnitOfWork, who: User
) -> None:
    with pytest.raises(AdminRequiredError):
        await change.add(who, NEW_RULE, CONTEXT)
    with pytest.raises(AdminRequiredError):
        await change.remove(who, DEFAULT_POLICY_RULES[1], CONTEXT)

    assert uow.entered == 0


async def test_a_user_granted_only_read_on_policy_cannot_change_it(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    reader = FakeAccessPolicy([*DEFAULT_POLICY_RULES, PolicyRule("user", "policy", "read", "all")])

    with pytest.raises(AdminRequiredError):
        await ChangePolicy(reader, uow, clock, object_types=OBJECT_TYPES).add(
            make_user(), NEW_RULE, CONTEXT
        )


# ---------------------------------------------------------------- removing


async def test_a_removed_rule_is_gone_audited_and_no_longer_obeyed(
    change: ChangePolicy, policy: FakeAccessPolicy, uow: FakeUnitOfWork, admin: User, alice: User
) -> None:
    rule = PolicyRule("user", "resource", "create", "own")
    assert await policy.allows(alice, "create", "resource", owner_id=alice.id)

    await change.remove(admin, rule, CONTEXT)

    assert rule not in uow.fake_policy_rules.committed
    assert uow.fake_policy_rules.version == 1
    assert uow.fake_audit_events.actions == ["policy.remove"]
    assert uow.fake_audit_events.committed[0].details["action"] == "create"
    assert not await policy.allows(alice, "create", "resource", owner_id=alice.id)
    assert await policy.allows(alice, "read", "resource", owner_id=alice.id)


async def test_removing_an_unknown_rule_is_not_found_and_changes_nothing(
    change: ChangePolicy, uow: FakeUnitOfWork, admin: User
) -> None:
    with pytest.raises(PolicyRuleNotFoundError):
        await change.remove(admin, NEW_RULE, CONTEXT)

    assert uow.committed == 0
    assert uow.fake_audit_events.committed == []


async def test_the_last_rule_letting_admins_manage_the_policy_stays(
    change: ChangePolicy, policy: FakeAccessPolicy, uow: FakeUnitOfWork, admin: User
) -> None:
    with pytest.raises(PolicyLockoutError):
        await change.remove(admin, ADMIN_MANAGES_ALL, CONTEXT)

    assert ADMIN_MANAGES_ALL in uow.fake_policy_rules.committed
    assert uow.committed == 0
    assert await policy.allows(admin, "update", "policy")


async def test_a_manage_rule_may_go_while_another_one_remains(
    change: ChangePolicy, policy: FakeAccessPolicy, uow: FakeUnitOfWork, admin: User
) -> None:
    await change.add(admin, PolicyRule("admin", "policy", "*", "all"), CONTEXT)

    await change.remove(admin, ADMIN_MANAGES_ALL, CONTEXT)

    assert ADMIN_MANAGES_ALL not in uow.fake_policy_rules.committed
    assert await policy.allows(admin, "update", "policy")
    assert not await policy.allows(admin, "delete", "resource", owner_id=None)
    assert uow.fake_audit_events.actions == ["policy.add", "policy.remove"]


@pytest.mark.parametrize(
    ("rule", "manages"),
    [
        (PolicyRule("admin", "*", "*", "all"), True),
        (PolicyRule("admin", "policy", "update", "all"), True),
        (PolicyRule("admin", "policy", "*", "all"), True),
        (PolicyRule("admin", "*", "update", "all"), True),
        (PolicyRule("admin", "policy", "read", "all"), False),
        (PolicyRule("admin", "policy", "update", "own"), False),
        (PolicyRule("admin", "resource", "*", "all"), False),
        (PolicyRule("user", "*", "*", "all"), False),
    ],
)
def test_which_rules_let_admins_manage_the_policy(rule: PolicyRule, manages: bool) -> None:
    assert manages_policy(rule) is manages


# ---------------------------------------------------------------- the audit trail


def _events(uow: FakeUnitOfWork, clock: FakeClock, actors: list[User]) -> list[AuditEvent]:
    events = [
        make_audit_event(
            action="auth.login" if index % 2 == 0 else "resource.create",
            now=clock.advance(),
            actor_id=actors[index % len(actors)].id,
        )
        for index in range(7)
    ]
    uow.fake_audit_events.seed(*events)
    return events


async def test_an_admin_pages_through_the_trail_newest_first(
    uow: FakeUnitOfWork, clock: FakeClock, admin: User, alice: User
) -> None:
    events = _events(uow, clock, [admin, alice])
    list_events = ListAuditEvents(uow, FakeAccessPolicy())

    first = await list_events.execute(admin, AuditFilter(), limit=3, cursor=None)
    second = await list_events.execute(admin, AuditFilter(), limit=3, cursor=first.next_cursor)
    last = await list_events.execute(admin, AuditFilter(), limit=3, cursor=second.next_cursor)

    newest_first = sorted(events, key=lambda event: event.id, reverse=True)
    assert first.items + second.items + last.items == newest_first
    assert first.next_cursor == encode_cursor(first.items[-1].id)
    assert last.next_cursor is None
    exact = await list_events.execute(admin, AuditFilter(), limit=7, cursor=None)
    assert exact.next_cursor is None


async def test_the_trail_is_filtered_by_actor_and_action(
    uow: FakeUnitOfWork, clock: FakeClock, admin: User, alice: User
) -> None:
    events = _events(uow, clock, [admin, alice])
    list_events = ListAuditEvents(uow, FakeAccessPolicy())

    by_alice = await list_events.execute(
        admin, AuditFilter(actor_id=alice.id), limit=100, cursor=None
    )
    logins = await list_events.execute(
        admin, AuditFilter(action="auth.login"), limit=100, cursor=None
    )
    both = await list_events.execute(
        admin, AuditFilter(actor_id=admin.id, action="auth.login"), limit=100, cursor=None
    )

    assert {e.actor_id for e in by_alice.items} == {alice.id}
    assert len(by_alice.items) == 3
    assert {e.action for e in logins.items} == {"auth.login"}
    assert len(logins.items) == 4
    newest_first = sorted(events, key=lambda event: event.id, reverse=True)
    assert both.items == [e for e in newest_first if e.actor_id == admin.id]


@pytest.mark.parametrize("limit", [0, 101, -1])
async def test_a_page_size_out_of_range_is_invalid(
    uow: FakeUnitOfWork, admin: User, limit: int
) -> None:
    with pytest.raises(InvalidValueError) as raised:
        await ListAuditEvents(uow, FakeAccessPolicy()).execute(
            admin, AuditFilter(), limit=limit, cursor=None
        )
    assert raised.value.field == "limit"


@pytest.mark.parametrize("cursor", ["garbage", "e30", "x" * 300])
async def test_a_cursor_we_did_not_issue_is_refused(
    uow: FakeUnitOfWork, admin: User, cursor: str
) -> None:
    with pytest.raises(InvalidCursorError):
        await ListAuditEvents(uow, FakeAccessPolicy()).execute(
            admin, AuditFilter(), limit=10, cursor=cursor
        )


async def test_only_those_allowed_to_read_the_audit_trail_read_it(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    _events(uow, clock, [alice])

    with pytest.raises(AdminRequiredError):
        await ListAuditEvents(uow, FakeAccessPolicy()).execute(
            alice, AuditFilter(actor_id=alice.id), limit=10, cursor=None
        )
    auditor = FakeAccessPolicy([PolicyRule("user", "audit", "read", "all")])
    page = await ListAuditEvents(uow, auditor).execute(alice, AuditFilter(), limit=10, cursor=None)
    assert len(page.items) == 7
    assert uow.entered == 1
