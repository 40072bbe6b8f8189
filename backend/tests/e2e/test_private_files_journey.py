"""An owner's file is out of another user's reach (features/private_files_journey.feature)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenario, then, when

from tests.e2e.conftest import Headers, make_settings
from tests.e2e.journeys import RESOURCES, App, running_app

FEATURE = "features/private_files_journey.feature"
DIARY = b"Dear diary, nobody else may read this.\n" * 10


@scenario(FEATURE, "An owner uploads a file that another user cannot see")
def test_an_owners_file_is_invisible_to_another_user(database_url: str) -> None:
    """Runs on each database: `database_url` is parametrized by backend."""


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    with running_app(make_settings(database_url)) as running:
        yield running


@pytest.fixture
def people() -> dict[str, Headers]:
    """Each person's credentials, by first name."""
    return {}


@pytest.fixture
def alices() -> dict[str, dict[str, Any]]:
    """Alice's resource and file as the API answered them, by the name she gave them."""
    return {}


def assert_not_found(response: Any, code: str) -> None:
    # The same 404 an unknown id gets: nothing tells Bob that Alice's things exist.
    assert response.status_code == 404, (response.request.url, response.text)
    assert response.json()["code"] == code


@given("Alice and Bob have accounts")
def alice_and_bob(app: App, people: dict[str, Headers]) -> None:
    for name in ("Alice", "Bob"):
        people[name] = app.sign_up(f"{name.lower()}@example.com")


@when(parsers.parse('Alice keeps a file "{filename}" in her resource "{resource_name}"'))
def alice_uploads(
    app: App,
    people: dict[str, Headers],
    alices: dict[str, dict[str, Any]],
    filename: str,
    resource_name: str,
) -> None:
    created = app.post(RESOURCES, json={"name": resource_name}, headers=people["Alice"])
    assert created.status_code == 201, created.text
    resource = created.json()
    uploaded = app.post(
        f"{RESOURCES}/{resource['id']}/files",
        files={"file": (filename, DIARY, "text/plain")},
        headers=people["Alice"],
    )
    assert uploaded.status_code == 201, uploaded.text
    alices[resource_name] = resource
    alices[filename] = {**uploaded.json(), "url": uploaded.headers["location"]}


@then(parsers.parse('Alice can download "{filename}" unchanged'))
def alice_downloads(
    app: App, people: dict[str, Headers], alices: dict[str, dict[str, Any]], filename: str
) -> None:
    download = app.get(alices[filename]["url"], headers=people["Alice"])
    assert download.status_code == 200, download.text
    assert download.content == DIARY


@then(parsers.parse('Bob does not find "{resource_name}" among the resources he can see'))
def bob_lists(
    app: App, people: dict[str, Headers], alices: dict[str, dict[str, Any]], resource_name: str
) -> None:
    listed = app.get(RESOURCES, headers=people["Bob"])
    assert listed.status_code == 200, listed.text
    assert alices[resource_name]["id"] not in [item["id"] for item in listed.json()["items"]]
    # Not even when he asks for Alice's resources by her id.
    by_owner = app.get(
        RESOURCES, params={"owner_id": alices[resource_name]["owner_id"]}, headers=people["Bob"]
    )
    assert by_owner.json()["items"] == []


@then(parsers.parse('Bob is told the resource "{resource_name}" does not exist'))
def bob_reads_resource(
    app: App, people: dict[str, Headers], alices: dict[str, dict[str, Any]], resource_name: str
) -> None:
    response = app.get(f"{RESOURCES}/{alices[resource_name]['id']}", headers=people["Bob"])
    assert_not_found(response, "resource.not_found")


@then(parsers.parse('Bob is told the file "{filename}" does not exist'))
def bob_downloads(
    app: App, people: dict[str, Headers], alices: dict[str, dict[str, Any]], filename: str
) -> None:
    response = app.get(alices[filename]["url"], headers=people["Bob"])
    assert response.status_code == 404, response.text
    assert response.json()["code"] in ("resource.not_found", "file.not_found")
    assert DIARY not in response.content


@then(parsers.parse('Bob cannot list the files of "{resource_name}"'))
def bob_lists_files(
    app: App, people: dict[str, Headers], alices: dict[str, dict[str, Any]], resource_name: str
) -> None:
    response = app.get(f"{RESOURCES}/{alices[resource_name]['id']}/files", headers=people["Bob"])
    assert_not_found(response, "resource.not_found")
