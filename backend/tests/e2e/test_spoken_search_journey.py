"""A user uploads audio and finds it by a spoken word (features/spoken_search_journey.feature):
the pipeline runs in this process on the packaged speech and embedding models."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenario, then, when

from tests.e2e.conftest import make_settings
from tests.e2e.journeys import RESOURCES, App, running_app

FEATURE = "features/spoken_search_journey.feature"
SPEECH = Path(__file__).parents[1] / "data" / "speech"
RUNS = "/api/v1/pipelines/runs"
SEARCH = "/api/v1/search"
# Transcribing a short recording takes a few seconds of CPU; a loaded CI machine gets slack.
RUN_DEADLINE_SECONDS = 120
FINISHED = ("succeeded", "failed", "canceled")

# As test_pipeline.py: also on PostgreSQL with pgvector, searching through its index.
pytestmark = pytest.mark.vector_search


@scenario(FEATURE, "A user uploads audio and finds it by a spoken word")
def test_a_user_finds_a_recording_by_a_spoken_word(database_url: str) -> None:
    """Runs on each database: `database_url` is parametrized by backend."""


@pytest.fixture
def app(database_url: str) -> Iterator[App]:
    with running_app(make_settings(database_url)) as running:
        yield running


@pytest.fixture
def journey() -> dict[str, Any]:
    return {}


def finished_run(app: App, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    """The run once it has finished: its jobs run on the app's event loop, so poll for it."""
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    while True:
        response = app.get(f"{RUNS}/{run_id}", headers=headers)
        assert response.status_code == 200, response.text
        run = dict(response.json())
        if run["status"] in FINISHED:
            return run
        assert time.monotonic() < deadline, f"run {run_id} did not finish: {run}"
        time.sleep(0.05)


def search(app: App, journey: dict[str, Any], word: str) -> list[dict[str, Any]]:
    response = app.get(SEARCH, params={"q": word, "mode": "keyword"}, headers=journey["me"])
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


@given("I have an account")
def account(app: App, journey: dict[str, Any]) -> None:
    journey["me"] = app.sign_up("listener@example.com")


@when(parsers.parse('I upload my recording "{name}"'))
def upload_recording(app: App, journey: dict[str, Any], name: str) -> None:
    resource = app.post(RESOURCES, json={"name": "Voice notes"}, headers=journey["me"])
    assert resource.status_code == 201, resource.text
    uploaded = app.post(
        f"{RESOURCES}/{resource.json()['id']}/files",
        files={"file": (name, (SPEECH / name).read_bytes(), "application/octet-stream")},
        headers=journey["me"],
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["content_type"].startswith("audio/")
    journey["recording"] = name
    journey["resource_id"] = resource.json()["id"]
    journey["file_id"] = uploaded.json()["id"]


@when("I have it transcribed and indexed")
def run_pipeline(app: App, journey: dict[str, Any]) -> None:
    started = app.post(
        RUNS,
        json={"resource_id": journey["resource_id"], "file_id": journey["file_id"]},
        headers=journey["me"],
    )
    assert started.status_code == 202, started.text
    run = finished_run(app, journey["me"], started.json()["run_id"])
    assert run["status"] == "succeeded", run
    assert [step["name"] for step in run["steps"]] == ["transcribe", "chunk", "embed", "index"]
    journey["run_id"] = run["run_id"]


@then("its transcript contains most of what was said")
def transcript_heard(app: App, journey: dict[str, Any]) -> None:
    spoken = json.loads((SPEECH / "sentences.json").read_text())[journey["recording"]]
    result = app.get(f"{RUNS}/{journey['run_id']}/result", headers=journey["me"])
    assert result.status_code == 200, result.text
    [transcript] = [a["text"] for a in result.json()["artifacts"] if a["step"] == "transcribe"]
    spoken_words, heard = set(spoken.split()), set(transcript.lower().split())
    # An offline recogniser is not perfect; 70 % of the words is what test_pipeline.py asks too.
    assert len(spoken_words & heard) >= 0.7 * len(spoken_words), (spoken, transcript)
    journey["transcript"] = transcript


@when(parsers.parse('I search for the word "{word}"'))
def search_for(app: App, journey: dict[str, Any], word: str) -> None:
    journey["found"] = search(app, journey, word)


@then("the recording is the first thing I find")
def recording_first(journey: dict[str, Any]) -> None:
    assert journey["found"], journey["transcript"]
    best = journey["found"][0]
    assert (best["run_id"], best["file_id"]) == (journey["run_id"], journey["file_id"])
    assert best["resource_id"] == journey["resource_id"]


@then("I find nothing")
def nothing_found(journey: dict[str, Any]) -> None:
    assert journey["found"] == []
