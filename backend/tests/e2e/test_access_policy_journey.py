"""An access-policy change takes effect on the next request
(features/access_policy_journey.feature)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_bdd import given, scenario, then, when

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings
from tests.e2e.journeys import App, running_app

FEATURE = "features/access_policy_journey.feature"
POLICIES = "/api/v1/admin/policies"
AUDIT = "/api/v1/admin/audit"
USERS_READ_THE_AUDIT_TRAIL = {
    "role": "user",
    "object_type": "audit",
    "action": "read",
    "scope": "all",
}


@scenario(FEATURE, "An admin grants users a permission and takes it back")
def test_an_admin_grants_users_a_permission_and_takes_it_back(database_url: str) -> None:
    """Runs on each database: `database_url` is parametrized by backend."""


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    with running_app(make_settings(database_url)) as running:
        yield running


@pytest.fixture
def journey() -> dict[str, Any]:
    return {}


@given("I am logged in as the administrator")
def admin_logged_in(app: App, journey: dict[str, Any]) -> None:
    journey["admin"] = app.log_in(ADMIN_EMAIL, ADMIN_PASSWORD)


@given("a user has signed up and logged in")
def user_logged_in(app: App, journey: dict[str, Any]) -> None:
    journey["user"] = app.sign_up("auditor@example.com")


@then("the user may not read the audit trail")
def user_refused(app: App, journey: dict[str, Any]) -> None:
    response = app.get(AUDIT, headers=journey["user"])
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "auth.admin_required"


@then("the user may read the audit trail")
def user_allowed(app: App, journey: dict[str, Any]) -> None:
    response = app.get(AUDIT, headers=journey["user"])
    assert response.status_code == 200, response.text
    assert "items" in response.json()


@when("I allow users to read the audit trail")
def grant(app: App, journey: dict[str, Any]) -> None:
    response = app.post(POLICIES, json=USERS_READ_THE_AUDIT_TRAIL, headers=journey["admin"])
    assert response.status_code == 201, response.text
    listed = app.get(POLICIES, headers=journey["admin"]).json()["items"]
    assert USERS_READ_THE_AUDIT_TRAIL in listed


@when("I take that permission away again")
def revoke(app: App, journey: dict[str, Any]) -> None:
    response = app.delete(POLICIES, json=USERS_READ_THE_AUDIT_TRAIL, headers=journey["admin"])
    assert response.status_code == 204, response.text
    listed = app.get(POLICIES, headers=journey["admin"]).json()["items"]
    assert USERS_READ_THE_AUDIT_TRAIL not in listed


@then("the audit trail records that I granted and revoked the permission")
def audited(app: App, journey: dict[str, Any]) -> None:
    admin_id = app.get("/api/v1/users/me", headers=journey["admin"]).json()["id"]
    for action in ("policy.add", "policy.remove"):
        events = app.get(AUDIT, params={"action": action}, headers=journey["admin"]).json()
        [event] = events["items"]
        assert event["actor_id"] == admin_id
        assert event["details"] == USERS_READ_THE_AUDIT_TRAIL
