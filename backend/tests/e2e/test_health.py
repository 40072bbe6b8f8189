from __future__ import annotations

from httpx import AsyncClient

from tests.e2e.conftest import make_settings, running_client


async def test_live_answers_200(client: AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_answers_200_when_the_database_answers(client: AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok"}


async def test_ready_answers_503_naming_redis_when_redis_is_down(database_url: str) -> None:
    settings = make_settings(database_url, redis_url="redis://127.0.0.1:1/0")
    async with running_client(settings) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"]
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert [error["field"] for error in body["errors"]] == ["redis"]


async def test_a_database_that_does_not_answer_is_a_503_not_a_500() -> None:
    settings = make_settings(
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
        first_admin_email=None,
        first_admin_password=None,
        database_timeout_seconds=2,
    )
    async with running_client(settings) as client:
        read = await client.get("/api/v1/products/01900000-0000-7000-8000-000000000000")
        ready = await client.get("/health/ready")
    assert read.status_code == 503
    assert read.headers["retry-after"] == "5"
    assert read.json()["code"] == "service_unavailable"
    assert "127.0.0.1" not in read.text
    assert ready.status_code == 503
    assert [error["field"] for error in ready.json()["errors"]] == ["database"]
