"""Access policies and the audit trail through the HTTP API (administrators only)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from asgi_lifespan import LifespanManager
from httpx import AsyncClient

from app.presentation.main import create_app
from tests.builders import make_user
from tests.conftest import empty_all_tables, migrated_policy_rules
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Headers,
    login,
    make_settings,
    running_client,
)
from tests.e2e.test_product import assert_problem
from tests.e2e.test_session import bearer, log_in, register

POLICIES = "/api/v1/admin/policies"
AUDIT = "/api/v1/admin/audit"
RULE = {"role": "user", "object_type": "product", "action": "read", "scope": "all"}
DEFAULT_ADMIN_RULE = {"role": "admin", "object_type": "*", "action": "*", "scope": "all"}


async def user_tokens(client: AsyncClient) -> dict[str, Any]:
    await register(client)
    return await log_in(client)


async def test_admin_routes_refuse_users_and_anonymous_callers(
    client: AsyncClient, admin_headers: Headers
) -> None:
    tokens = await user_tokens(client)

    for method, url, body in (
        ("GET", POLICIES, None),
        ("POST", POLICIES, RULE),
        ("DELETE", POLICIES, RULE),
        ("GET", AUDIT, None),
    ):
        as_user = await client.request(method, url, json=body, headers=bearer(tokens))
        assert_problem(as_user, 403, "auth.admin_required")
        anonymous = await client.request(method, url, json=body)
        assert_problem(anonymous, 401, "auth.unauthenticated")
        assert anonymous.headers["www-authenticate"] == "Bearer"
    # Nothing the user sent reached the policy.
    assert RULE not in (await client.get(POLICIES, headers=admin_headers)).json()["items"]


async def test_the_default_policy_is_listed(
    client: AsyncClient, admin_headers: Headers, database_url: str
) -> None:
    response = await client.get(POLICIES, headers=admin_headers)

    assert response.status_code == 200
    items = response.json()["items"]
    assert DEFAULT_ADMIN_RULE in items
    assert {"role": "user", "object_type": "resource", "action": "read", "scope": "own"} in items
    assert {"role": "user", "object_type": "payment", "action": "create", "scope": "own"} in items
    assert items == [dataclasses.asdict(rule) for rule in migrated_policy_rules(database_url)]


async def test_rules_are_added_and_removed_and_audited(
    client: AsyncClient, admin_headers: Headers
) -> None:
    added = await client.post(POLICIES, json=RULE, headers=admin_headers)
    duplicate = await client.post(POLICIES, json=RULE, headers=admin_headers)

    assert added.status_code == 201, added.text
    assert added.json() == RULE
    assert_problem(duplicate, 409, "policy.exists")
    assert RULE in (await client.get(POLICIES, headers=admin_headers)).json()["items"]

    removed = await client.request("DELETE", POLICIES, json=RULE, headers=admin_headers)
    again = await client.request("DELETE", POLICIES, json=RULE, headers=admin_headers)

    assert removed.status_code == 204
    assert_problem(again, 404, "policy.not_found")
    events = (await client.get(f"{AUDIT}?action=policy.add", headers=admin_headers)).json()
    assert [e["details"] for e in events["items"]] == [RULE]
    removals = (await client.get(f"{AUDIT}?action=policy.remove", headers=admin_headers)).json()
    assert len(removals["items"]) == 1


async def test_the_next_request_obeys_a_policy_change(
    client: AsyncClient, admin_headers: Headers
) -> None:
    auditor = {"role": "user", "object_type": "audit", "action": "read", "scope": "all"}
    tokens = await user_tokens(client)
    assert (await client.get(AUDIT, headers=bearer(tokens))).status_code == 403

    granted = await client.post(POLICIES, json=auditor, headers=admin_headers)
    as_auditor = await client.get(AUDIT, headers=bearer(tokens))
    revoked = await client.request("DELETE", POLICIES, json=auditor, headers=admin_headers)
    after = await client.get(AUDIT, headers=bearer(tokens))

    assert granted.status_code == 201
    assert as_auditor.status_code == 200
    assert revoked.status_code == 204
    assert_problem(after, 403, "auth.admin_required")


async def test_a_policy_change_is_audited_with_who_and_which_request(
    client: AsyncClient, admin_headers: Headers
) -> None:
    me = (await client.get("/api/v1/users/me", headers=admin_headers)).json()

    added = await client.post(
        POLICIES, json=RULE, headers={**admin_headers, "X-Request-ID": "policy-change-1"}
    )
    events = (await client.get(f"{AUDIT}?action=policy.add", headers=admin_headers)).json()

    assert added.status_code == 201
    assert added.headers["location"] == POLICIES
    [event] = events["items"]
    assert event["actor_id"] == me["id"]
    assert event["request_id"] == "policy-change-1"
    assert (event["target_type"], event["outcome"]) == ("policy", "success")
    assert event["details"] == RULE


async def test_invalid_rules_are_422(
    client: AsyncClient, admin_headers: Headers, database_url: str
) -> None:
    for field, value in (
        ("role", "root"),
        ("object_type", "bank"),
        ("action", "launch"),
        ("scope", "some"),
        ("role", ""),
        ("role", 5),
    ):
        response = await client.post(POLICIES, json={**RULE, field: value}, headers=admin_headers)
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"][0]["field"].endswith(field)
    extra = await client.post(POLICIES, json={**RULE, "effect": "deny"}, headers=admin_headers)
    assert_problem(extra, 422, "validation_error")
    missing = await client.post(POLICIES, json={"role": "user"}, headers=admin_headers)
    assert_problem(missing, 422, "validation_error")
    not_json = await client.post(POLICIES, content=b"{", headers=admin_headers)
    assert not_json.status_code in (400, 422)
    bad_removal = await client.request(
        "DELETE", POLICIES, json={**RULE, "action": "launch"}, headers=admin_headers
    )
    assert_problem(bad_removal, 422, "validation_error")
    assert len((await client.get(POLICIES, headers=admin_headers)).json()["items"]) == len(
        migrated_policy_rules(database_url)
    )


async def test_the_last_rule_letting_admins_manage_the_policy_cannot_be_removed(
    client: AsyncClient, admin_headers: Headers
) -> None:
    response = await client.request(
        "DELETE", POLICIES, json=DEFAULT_ADMIN_RULE, headers=admin_headers
    )

    assert_problem(response, 409, "policy.lockout")
    assert (await client.get(POLICIES, headers=admin_headers)).status_code == 200


async def test_the_audit_trail_is_newest_first_filtered_and_paged(
    client: AsyncClient, admin_headers: Headers
) -> None:
    await register(client)
    for _ in range(3):
        await log_in(client)
    me = (await client.get("/api/v1/users/me", headers=admin_headers)).json()

    first = (await client.get(f"{AUDIT}?limit=2&action=auth.login", headers=admin_headers)).json()
    second = (
        await client.get(
            f"{AUDIT}?limit=2&action=auth.login&cursor={first['next_cursor']}",
            headers=admin_headers,
        )
    ).json()
    admins = (await client.get(f"{AUDIT}?actor_id={me['id']}", headers=admin_headers)).json()

    events = first["items"] + second["items"]
    assert len(events) == 4  # the admin's login and the user's three
    assert [e["occurred_at"] for e in events] == sorted(
        (e["occurred_at"] for e in events), reverse=True
    )
    assert second["next_cursor"] is None
    assert {e["actor_id"] for e in admins["items"]} == {me["id"]}
    for bad in ("limit=0", "limit=101", "cursor=garbage", "actor_id=not-a-uuid"):
        response = await client.get(f"{AUDIT}?{bad}", headers=admin_headers)
        assert response.status_code in (400, 422), bad


async def test_a_policy_change_reaches_another_api_process_within_a_second(
    database_url: str,
) -> None:
    """Two apps over one database, like two API processes: a rule removed through one is obeyed
    by the other within a second."""
    rule = {"role": "user", "object_type": "resource", "action": "create", "scope": "own"}
    someone = make_user()
    settings = make_settings(database_url)
    try:
        second_app = create_app(settings)
        async with running_client(settings) as first, LifespanManager(second_app):
            second_policy = second_app.state.container.access_policy
            assert await second_policy.allows(someone, "create", "resource", owner_id=someone.id)
            admin = await login(first, ADMIN_EMAIL, ADMIN_PASSWORD)

            removed = await first.request("DELETE", POLICIES, json=rule, headers=admin)

            assert removed.status_code == 204
            started = time.monotonic()
            while await second_policy.allows(someone, "create", "resource", owner_id=someone.id):
                assert time.monotonic() - started < 1.0, "the other process still allows it"
                await asyncio.sleep(0.02)
            assert rule not in (await first.get(POLICIES, headers=admin)).json()["items"]
    finally:
        await empty_all_tables(database_url)


async def test_a_user_whose_create_right_is_removed_is_told_403_not_404(
    client: AsyncClient, admin_headers: Headers
) -> None:
    # Their own collection: there is nobody else's object to hide, so the answer is "forbidden".
    creator = {"role": "user", "object_type": "resource", "action": "create", "scope": "own"}
    tokens = await user_tokens(client)
    revoked = await client.request("DELETE", POLICIES, json=creator, headers=admin_headers)
    try:
        refused = await client.post(
            "/api/v1/resources", json={"name": "Notes"}, headers=bearer(tokens)
        )
    finally:
        await client.post(POLICIES, json=creator, headers=admin_headers)
    allowed_again = await client.post(
        "/api/v1/resources", json={"name": "Notes"}, headers=bearer(tokens)
    )

    assert revoked.status_code == 204
    assert_problem(refused, 403, "auth.forbidden")
    assert allowed_again.status_code == 201
