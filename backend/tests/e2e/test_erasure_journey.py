"""A user erases the account and nothing of theirs remains (features/erasure_journey.feature)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenario, then, when

from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SCRATCH_DIR,
    USER_PASSWORD,
    make_settings,
)
from tests.e2e.journeys import LOGIN, ME, RESOURCES, App, bearer, running_app

FEATURE = "features/erasure_journey.feature"
EMAIL = "leaving@example.com"
ITINERARY = b"Day 1: Lisbon. Day 2: Porto.\n" * 20


@scenario(FEATURE, "A user erases the account and nothing of theirs remains")
def test_a_user_erases_the_account_and_nothing_remains(database_url: str) -> None:
    """Runs on each database: `database_url` is parametrized by backend."""


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    with running_app(make_settings(database_url)) as running:
        yield running


@pytest.fixture
def journey() -> dict[str, Any]:
    return {}


def stored_copies(file_id: str) -> list[Path]:
    """The encrypted blobs of a file on disk (their names carry the file's id)."""
    return list((SCRATCH_DIR / "files").rglob(f"*{file_id.replace('-', '')}*"))


@given(
    parsers.parse('I have an account with a resource "{resource_name}" holding a file "{filename}"')
)
def account_with_a_file(
    app: App, journey: dict[str, Any], resource_name: str, filename: str
) -> None:
    journey["profile"] = app.register(EMAIL)
    headers = app.log_in(EMAIL)
    resource = app.post(RESOURCES, json={"name": resource_name}, headers=headers)
    assert resource.status_code == 201, resource.text
    uploaded = app.post(
        f"{RESOURCES}/{resource.json()['id']}/files",
        files={"file": (filename, ITINERARY, "text/plain")},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    journey["resource"] = resource.json()
    journey["file"] = {**uploaded.json(), "url": uploaded.headers["location"]}
    journey["stored"] = stored_copies(journey["file"]["id"])
    assert journey["stored"], "the upload left no stored copy to look for later"


@given("I am logged in on two devices")
def two_devices(app: App, journey: dict[str, Any]) -> None:
    journey["devices"] = []
    for agent in ("laptop", "phone"):
        response = app.post(
            LOGIN,
            data={"username": EMAIL, "password": USER_PASSWORD},
            headers={"User-Agent": agent},
        )
        assert response.status_code == 200, response.text
        journey["devices"].append(response.json())


@when("I export my data")
def export(app: App, journey: dict[str, Any]) -> None:
    response = app.get(f"{ME}/export", headers=bearer(journey["devices"][0]))
    assert response.status_code == 200, response.text
    journey["export"] = response.json()


@then(parsers.parse('the export holds my profile, my sessions, "{resource_name}" and "{filename}"'))
def export_holds_my_data(journey: dict[str, Any], resource_name: str, filename: str) -> None:
    exported = journey["export"]
    assert exported["profile"]["id"] == journey["profile"]["id"]
    assert exported["profile"]["email"] == EMAIL
    assert {"laptop", "phone"} <= {s["user_agent"] for s in exported["sessions"]}
    [resource] = exported["resources"]
    assert (resource["id"], resource["name"]) == (journey["resource"]["id"], resource_name)
    [file] = resource["files"]
    assert file["filename"] == filename
    assert file["sha256"] == journey["file"]["sha256"]


@when("I erase my account with my password")
def erase(app: App, journey: dict[str, Any]) -> None:
    response = app.delete(
        ME, json={"password": USER_PASSWORD}, headers=bearer(journey["devices"][0])
    )
    assert response.status_code == 204, response.text


@then("neither device's session works any more")
def sessions_gone(app: App, journey: dict[str, Any]) -> None:
    for tokens in journey["devices"]:
        me = app.get(ME, headers=bearer(tokens))
        assert me.status_code == 401, me.text
        refreshed = app.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 401, refreshed.text
        assert refreshed.json()["code"] == "auth.invalid_refresh_token"


@then("I cannot log in again")
def login_fails(app: App) -> None:
    response = app.post(LOGIN, data={"username": EMAIL, "password": USER_PASSWORD})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "auth.invalid_credentials"


@then("the administrator finds no account, resource or file of mine")
def admin_finds_nothing(app: App, journey: dict[str, Any]) -> None:
    admin = app.log_in(ADMIN_EMAIL, ADMIN_PASSWORD)
    users = app.get("/api/v1/users", headers=admin).json()["items"]
    assert EMAIL not in [user["email"] for user in users]
    assert journey["profile"]["id"] not in [user["id"] for user in users]
    everyones = app.get(RESOURCES, headers=admin).json()["items"]
    assert journey["resource"]["id"] not in [resource["id"] for resource in everyones]
    resource = app.get(f"{RESOURCES}/{journey['resource']['id']}", headers=admin)
    assert resource.status_code == 404, resource.text
    file = app.get(journey["file"]["url"], headers=admin)
    assert file.status_code == 404, file.text


@then(parsers.parse('the stored copy of "{filename}" is gone'))
def stored_copy_gone(journey: dict[str, Any], filename: str) -> None:
    assert not [path for path in journey["stored"] if path.exists()], filename
    assert stored_copies(journey["file"]["id"]) == []
