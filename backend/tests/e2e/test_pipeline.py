"""Media pipelines and search through the HTTP API (API.md "Pipelines and AI search"): a text file
and a spoken recording run to the end on the embedded default (jobs in this process, the packaged
models), the event stream, results, retries, cancel on delete, idempotency, search, and the
BOLA matrix over every pipeline route."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient

from tests.conftest import empty_all_tables
from tests.databases import PGVECTOR
from tests.e2e.conftest import (
    SCRATCH_DIR,
    USER_PASSWORD,
    Headers,
    make_settings,
    running_client,
)
from tests.e2e.test_product import assert_problem
from tests.e2e.test_resource import MISSING, RESOURCES, account, create, upload
from tests.openai_compatible_server import OpenAiCompatibleServer
from tests.openai_transcription_server import OpenAiTranscriptionServer
from tests.openai_transcription_server import Scripted as TranscriptionScripted

RUNS = "/api/v1/pipelines/runs"
SEARCH = "/api/v1/search"
SPEECH = Path(__file__).parents[1] / "data" / "speech"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64

WHALES = (
    "Humpback whales migrate thousands of kilometres every year. They feed in cold polar waters "
    "during the summer and travel to warm tropical seas to breed.\n\n"
    "The recipe calls for flour, butter and sugar. Bake the cake for forty minutes until golden.\n\n"
    "Volcanoes form where tectonic plates pull apart or collide. Magma rises through the crust "
    "and erupts as lava."
)


# Also on PostgreSQL with pgvector: search through its HNSW index.
pytestmark = pytest.mark.vector_search


async def uploaded_file(
    client: AsyncClient, headers: Headers, content: bytes, filename: str = "notes.txt"
) -> tuple[str, str]:
    resource = await create(client, headers)
    response = await upload(client, headers, resource["id"], content, filename=filename)
    assert response.status_code == 201, response.text
    return resource["id"], response.json()["id"]


async def start(
    client: AsyncClient, headers: Headers, resource_id: str, file_id: str, **body: Any
) -> Any:
    return await client.post(
        RUNS, json={"resource_id": resource_id, "file_id": file_id, **body}, headers=headers
    )


async def finished(client: AsyncClient, headers: Headers, run_id: str) -> dict[str, Any]:
    """The run once it has finished (jobs run in this process: poll until then)."""
    for _ in range(600):
        response = await client.get(f"{RUNS}/{run_id}", headers=headers)
        assert response.status_code == 200, response.text
        run = dict(response.json())
        if run["status"] in ("succeeded", "failed", "canceled"):
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish: {run}")


async def run_to_end(
    client: AsyncClient, headers: Headers, content: bytes, filename: str = "notes.txt"
) -> tuple[str, str, dict[str, Any]]:
    resource_id, file_id = await uploaded_file(client, headers, content, filename)
    response = await start(client, headers, resource_id, file_id)
    assert response.status_code == 202, response.text
    return resource_id, file_id, await finished(client, headers, response.json()["run_id"])


def sse_events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        if "data" in fields:
            events.append(fields)
    return events


# ------------------------------------------------------------------------ a text file, end to end
async def test_a_text_file_runs_to_the_end_and_its_chunks_are_found(
    client: AsyncClient, backend: str
) -> None:
    alice = await account(client, "alice@example.com")
    resource_id, file_id = await uploaded_file(client, alice, WHALES.encode())

    response = await start(client, alice, resource_id, file_id)

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert response.headers["location"] == f"{RUNS}/{accepted['run_id']}"
    run = await finished(client, alice, accepted["run_id"])
    assert run["status"] == "succeeded", run["steps"][-1]["error"]
    assert run["progress"] == 100
    assert [step["name"] for step in run["steps"]] == ["extract", "chunk", "embed", "index"]
    for step in run["steps"]:
        assert step["status"] == "succeeded"
        assert step["attempts"] == 1
        assert step["error"] is None
        assert step["duration_ms"] is not None
        assert step["duration_ms"] >= 0
        assert step["started_at"] <= step["finished_at"]

    result = await client.get(f"{RUNS}/{accepted['run_id']}/result", headers=alice)
    assert result.status_code == 200, result.text
    assert result.headers["cache-control"] == "no-store"
    artifacts = {artifact["step"]: artifact for artifact in result.json()["artifacts"]}
    assert artifacts["extract"]["text"] == WHALES
    assert artifacts["chunk"]["summary"]["chunks"] >= 1
    assert artifacts["embed"]["summary"]["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert artifacts["embed"]["summary"]["dimension"] == 384
    index = "pgvector-hnsw" if backend == PGVECTOR else "exact"
    assert artifacts["index"]["summary"]["index"] == index
    ready = await client.get("/health/ready")
    assert ready.json()["checks"]["vector_index"] == index, ready.text

    for mode in ("hybrid", "semantic", "keyword"):
        search = await client.get(
            SEARCH, params={"q": "where do whales travel to breed", "mode": mode}, headers=alice
        )
        assert search.status_code == 200, search.text
        items = search.json()["items"]
        assert items, mode
        best = items[0]
        assert "whales" in best["text"].lower(), (mode, items)
        assert best["resource_id"] == resource_id
        assert best["file_id"] == file_id
        assert best["run_id"] == accepted["run_id"]
        assert WHALES[best["start"] : best["end"]] == best["text"]
        assert [item["score"] for item in items] == sorted(
            (item["score"] for item in items), reverse=True
        )

    semantic = await client.get(
        SEARCH, params={"q": "baking a dessert in the oven", "mode": "semantic"}, headers=alice
    )
    assert "cake" in semantic.json()["items"][0]["text"]


async def test_the_event_stream_sends_every_change_and_a_reconnection_misses_nothing(
    client: AsyncClient,
) -> None:
    alice = await account(client, "alice@example.com")
    _, _, run = await run_to_end(client, alice, WHALES.encode())
    run_id = run["run_id"]

    stream = await client.get(f"{RUNS}/{run_id}/events", headers=alice)

    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    events = sse_events(stream.text)
    ids = [int(event["id"]) for event in events]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    states = [json.loads(event["data"]) for event in events]
    assert states[0]["status"] == "queued"
    assert states[-1]["status"] == "succeeded"
    assert all(event["event"] == "run" for event in events)
    progress = [state["progress"] for state in states]
    assert progress == sorted(progress)
    assert progress[-1] == 100

    resumed = await client.get(
        f"{RUNS}/{run_id}/events", headers={**alice, "Last-Event-ID": str(ids[2])}
    )
    assert [int(event["id"]) for event in sse_events(resumed.text)] == ids[3:]


# ------------------------------------------------------------------------- audio, end to end
async def test_a_spoken_recording_is_transcribed_and_its_words_are_found(
    client: AsyncClient,
) -> None:
    sentences = json.loads((SPEECH / "sentences.json").read_text())
    name, spoken = next(iter(sorted(sentences.items())))
    alice = await account(client, "alice@example.com")

    _, _, run = await run_to_end(client, alice, (SPEECH / name).read_bytes(), filename=name)

    assert run["status"] == "succeeded", run
    assert [step["name"] for step in run["steps"]] == ["transcribe", "chunk", "embed", "index"]
    result = (await client.get(f"{RUNS}/{run['run_id']}/result", headers=alice)).json()
    transcript = next(a for a in result["artifacts"] if a["step"] == "transcribe")["text"]
    spoken_words = set(spoken.lower().replace(".", "").split())
    heard = set(transcript.split())
    assert len(spoken_words & heard) >= len(spoken_words) * 0.7, (spoken, transcript)
    longest = max(spoken_words & heard, key=len)
    search = await client.get(SEARCH, params={"q": longest, "mode": "keyword"}, headers=alice)
    assert search.json()["items"][0]["run_id"] == run["run_id"]


# ----------------------------------------------------------------------------- refusals
async def test_files_no_pipeline_reads_and_bad_steps_are_422(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource_id, png_id = await uploaded_file(client, alice, PNG, "picture.png")
    _, text_id = await uploaded_file(client, alice, b"Some text.")

    assert_problem(
        await start(client, alice, resource_id, png_id), 422, "pipeline.unsupported_media"
    )
    text_resource = (await client.get(RESOURCES, headers=alice)).json()["items"][-1]["id"]
    for steps in (["chunk"], ["transcribe"], ["extract", "embed"], ["index", "extract"]):
        assert_problem(
            await start(client, alice, text_resource, text_id, steps=steps),
            422,
            "pipeline.invalid_steps",
        )
    for steps in ([], ["extract", "extract", "chunk", "embed", "index", "index"], ["fly"]):
        response = await start(client, alice, text_resource, text_id, steps=steps)
        assert response.status_code == 422, (steps, response.text)
    assert (await client.get(RUNS, headers=alice)).json()["items"] == []


async def test_a_run_may_stop_after_a_step(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource_id, file_id = await uploaded_file(client, alice, WHALES.encode())

    response = await start(client, alice, resource_id, file_id, steps=["extract", "chunk"])
    run = await finished(client, alice, response.json()["run_id"])

    assert run["status"] == "succeeded"
    assert [step["status"] for step in run["steps"]] == [
        "succeeded",
        "succeeded",
        "skipped",
        "skipped",
    ]
    search = await client.get(SEARCH, params={"q": "whales"}, headers=alice)
    assert search.json()["items"] == []  # chunked, never indexed


async def test_a_failed_run_says_why_and_a_retry_of_it_is_accepted(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    # Sniffed as text (it is UTF-8), but blank: extraction has nothing to give.
    _, _, run = await run_to_end(client, alice, b"   \n\n   ")

    assert run["status"] == "failed"
    extract = run["steps"][0]
    assert extract["status"] == "failed"
    assert "blank" in extract["error"]
    assert [step["status"] for step in run["steps"][1:]] == ["pending"] * 3
    assert_problem(
        await client.get(f"{RUNS}/{run['run_id']}/result", headers=alice),
        409,
        "pipeline.not_finished",
    )

    retried = await client.post(f"{RUNS}/{run['run_id']}/retry", headers=alice)
    assert retried.status_code == 202, retried.text
    again = await finished(client, alice, run["run_id"])
    assert again["status"] == "failed"
    assert again["steps"][0]["attempts"] == 2
    ok = await run_to_end(client, alice, WHALES.encode())
    assert_problem(
        await client.post(f"{RUNS}/{ok[2]['run_id']}/retry", headers=alice),
        409,
        "pipeline.not_retryable",
    )


async def test_deleting_the_file_removes_its_chunks_and_artifacts(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource_id, file_id, run = await run_to_end(client, alice, WHALES.encode())
    assert (await client.get(SEARCH, params={"q": "volcanoes"}, headers=alice)).json()["items"]

    deleted = await client.delete(f"{RESOURCES}/{resource_id}/files/{file_id}", headers=alice)

    assert deleted.status_code == 204
    assert (await client.get(SEARCH, params={"q": "volcanoes"}, headers=alice)).json()[
        "items"
    ] == []
    result = await client.get(f"{RUNS}/{run['run_id']}/result", headers=alice)
    assert result.json()["artifacts"] == []


async def test_an_idempotency_key_starts_one_run(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource_id, file_id = await uploaded_file(client, alice, WHALES.encode())
    key = {"Idempotency-Key": "run-1"}

    first = await start(client, {**alice, **key}, resource_id, file_id)
    second = await start(client, {**alice, **key}, resource_id, file_id)
    other = await start(client, {**alice, **key}, resource_id, file_id, steps=["extract"])

    assert first.status_code == second.status_code == 202
    assert first.json()["run_id"] == second.json()["run_id"]
    assert_problem(other, 422, "idempotency.key_reused")
    assert len((await client.get(RUNS, headers=alice)).json()["items"]) == 1
    await finished(client, alice, first.json()["run_id"])


# --------------------------------------------------------------------------------- search
async def test_search_refuses_bad_queries_and_finds_nothing_in_an_empty_index(
    client: AsyncClient,
) -> None:
    alice = await account(client, "alice@example.com")

    empty = await client.get(SEARCH, params={"q": "anything at all"}, headers=alice)
    assert empty.status_code == 200
    assert empty.json() == {"items": []}
    for params in (
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 501},
        {"q": "null\x00byte"},
        {"q": "escape\x1b[31m"},
        {"q": "ok", "limit": 0},
        {"q": "ok", "limit": 51},
        {"q": "ok", "mode": "fuzzy"},
        {"q": "ok", "resource_id": "not-a-uuid"},
        {},
    ):
        response = await client.get(SEARCH, params=params, headers=alice)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    for odd in ('"unbalanced', "NEAR(a b)", "a OR AND NOT", "*", "col:umn", "'; DROP TABLE x; --"):
        response = await client.get(SEARCH, params={"q": odd, "mode": "keyword"}, headers=alice)
        assert response.status_code == 200, (odd, response.text)
    assert (await client.get(SEARCH, params={"q": "x"})).status_code == 401


async def test_search_finds_only_the_callers_chunks_and_narrows_to_a_resource(
    client: AsyncClient,
) -> None:
    alice = await account(client, "alice@example.com")
    bob = await account(client, "bob@example.com")
    alice_resource, _, _ = await run_to_end(client, alice, WHALES.encode())
    other_resource, _, _ = await run_to_end(client, alice, b"Whales sing long songs at night.")

    assert (await client.get(SEARCH, params={"q": "whales"}, headers=bob)).json()["items"] == []
    everything = (await client.get(SEARCH, params={"q": "whales"}, headers=alice)).json()["items"]
    assert {item["resource_id"] for item in everything} == {alice_resource, other_resource}
    narrowed = await client.get(
        SEARCH, params={"q": "whales", "resource_id": other_resource}, headers=alice
    )
    assert {item["resource_id"] for item in narrowed.json()["items"]} == {other_resource}
    foreign = await client.get(
        SEARCH, params={"q": "whales", "resource_id": other_resource}, headers=bob
    )
    assert foreign.json()["items"] == []


# ----------------------------------------------------------------------------------- BOLA
async def test_no_pipeline_route_reveals_or_touches_another_users_run(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    bob = await account(client, "bob@example.com")
    resource_id, file_id, run = await run_to_end(client, alice, WHALES.encode())
    run_id = run["run_id"]

    assert_problem(await start(client, bob, resource_id, file_id), 404, "file.not_found")
    assert_problem(await start(client, bob, resource_id, MISSING), 404, "file.not_found")
    for path in (f"{RUNS}/{run_id}", f"{RUNS}/{run_id}/result", f"{RUNS}/{run_id}/events"):
        assert_problem(await client.get(path, headers=bob), 404, "pipeline.not_found")
        assert_problem(
            await client.get(path.replace(run_id, MISSING), headers=alice),
            404,
            "pipeline.not_found",
        )
        assert (await client.get(path)).status_code == 401
    assert_problem(
        await client.post(f"{RUNS}/{run_id}/retry", headers=bob), 404, "pipeline.not_found"
    )
    assert (await client.get(RUNS, headers=bob)).json()["items"] == []
    assert [r["run_id"] for r in (await client.get(RUNS, headers=alice)).json()["items"]] == [
        run_id
    ]
    assert (
        await client.post(RUNS, json={"resource_id": resource_id, "file_id": file_id})
    ).status_code == 401


# -------------------------------------------------------------- model servers chosen by settings
async def test_settings_send_the_steps_to_openai_compatible_model_servers(
    database_url: str,
) -> None:
    """With their URLs set, speech goes to a `/v1/audio/transcriptions` server and texts (the
    chunks, then the query) to a `/v1/embeddings` server: the production HTTP adapters, talking
    to local servers that speak the protocol."""
    speech = OpenAiTranscriptionServer(
        transcript="the lighthouse keeper rang the brass bell"
    ).start()
    embeddings = OpenAiCompatibleServer(api_key="sk-test", embedding_dimension=16).start()
    settings = make_settings(
        database_url,
        features={
            "pipeline": {
                "transcription_url": speech.base_url,
                "transcription_model": "whisper-large-v3",
                "embedding_url": embeddings.url,
                "embedding_model": "text-embedding-test",
                "embedding_dimension": 16,
                "embedding_api_key": "sk-test",
            }
        },
    )
    name = sorted(json.loads((SPEECH / "sentences.json").read_text()))[0]
    try:
        async with running_client(settings) as client:
            alice = await account(client, "alice@example.com")
            _, _, run = await run_to_end(client, alice, (SPEECH / name).read_bytes(), filename=name)
            assert run["status"] == "succeeded", run["steps"]
            result = (await client.get(f"{RUNS}/{run['run_id']}/result", headers=alice)).json()
            search = await client.get(
                SEARCH, params={"q": "brass bell", "mode": "semantic"}, headers=alice
            )
    finally:
        speech.stop()
        embeddings.stop()
        await empty_all_tables(database_url)

    [sent] = speech.requests
    assert sent.fields["model"] == "whisper-large-v3"
    assert sent.file == (SPEECH / name).read_bytes()
    by_step = {artifact["step"]: artifact for artifact in result["artifacts"]}
    assert by_step["transcribe"]["text"] == "the lighthouse keeper rang the brass bell"
    assert by_step["embed"]["summary"] == {
        "chunks": 1,
        "model": "text-embedding-test",
        "dimension": 16,
    }
    bodies = [request.json() for request in embeddings.requests()]
    assert bodies[0] == {
        "model": "text-embedding-test",
        "input": ["the lighthouse keeper rang the brass bell"],
    }
    assert bodies[-1]["input"] == ["brass bell"]  # the query, embedded by the same model
    assert all(r.headers["authorization"] == "Bearer sk-test" for r in embeddings.requests())
    assert search.json()["items"][0]["text"] == "the lighthouse keeper rang the brass bell"


# ------------------------------------------------------------------------------------- GDPR
async def test_the_export_holds_the_runs_and_their_texts_and_erasure_removes_everything(
    client: AsyncClient,
) -> None:
    alice = await account(client, "alice@example.com")
    bob = await account(client, "bob@example.com")
    _, _, run = await run_to_end(client, alice, WHALES.encode())
    await run_to_end(client, bob, b"Bob keeps bees.")

    export = (await client.get("/api/v1/users/me/export", headers=alice)).json()

    assert [r["run_id"] for r in export["pipeline_runs"]] == [run["run_id"]]
    texts = {a["step"]: a["text"] for a in export["pipeline_artifacts"]}
    assert texts["extract"] == WHALES
    assert texts["index"] is None
    blobs_before = {p for p in (SCRATCH_DIR / "files").rglob("*") if p.is_file()}
    assert not any(WHALES[:40].encode() in p.read_bytes() for p in blobs_before)  # encrypted

    erased = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": USER_PASSWORD}, headers=alice
    )

    assert erased.status_code == 204
    blobs_after = {p for p in (SCRATCH_DIR / "files").rglob("*") if p.is_file()}
    # Alice's file and her extracted text are gone; Bob's stay.
    assert len(blobs_before - blobs_after) == 2
    assert (await client.get(SEARCH, params={"q": "bees"}, headers=bob)).json()["items"]
    assert len((await client.get(RUNS, headers=bob)).json()["items"]) == 1


async def test_a_run_whose_file_is_deleted_while_a_step_runs_ends_canceled(
    database_url: str,
) -> None:
    """The transcription server takes two seconds; the file is deleted meanwhile. The step's
    result is not kept: the run ends `canceled`, with no artifact and nothing to find."""
    speech = OpenAiTranscriptionServer().start()
    speech.script(
        TranscriptionScripted(
            status=200, body={"text": "a transcript nobody keeps"}, delay_seconds=2
        )
    )
    settings = make_settings(
        database_url, features={"pipeline": {"transcription_url": speech.base_url}}
    )
    name = sorted(json.loads((SPEECH / "sentences.json").read_text()))[0]
    try:
        async with running_client(settings) as client:
            alice = await account(client, "alice@example.com")
            resource_id, file_id = await uploaded_file(
                client, alice, (SPEECH / name).read_bytes(), name
            )
            run_id = (await start(client, alice, resource_id, file_id)).json()["run_id"]
            for _ in range(100):
                if speech.requests:
                    break
                await asyncio.sleep(0.02)
            deleted = await client.delete(
                f"{RESOURCES}/{resource_id}/files/{file_id}", headers=alice
            )
            assert deleted.status_code == 204
            run = await finished(client, alice, run_id)
            await asyncio.sleep(2.5)  # the transcription answers; its result must not be kept
            after = (await client.get(f"{RUNS}/{run_id}", headers=alice)).json()
            result = await client.get(f"{RUNS}/{run_id}/result", headers=alice)
            search = await client.get(SEARCH, params={"q": "transcript"}, headers=alice)
    finally:
        speech.stop()
        await empty_all_tables(database_url)

    assert run["status"] == "canceled"
    assert after["status"] == "canceled"
    transcribe = after["steps"][0]
    assert transcribe["status"] == "failed"
    assert transcribe["error"] == "canceled: the file was deleted"
    assert [step["status"] for step in after["steps"][1:]] == ["skipped"] * 3
    assert_problem(result, 409, "pipeline.not_finished")
    assert search.json()["items"] == []
