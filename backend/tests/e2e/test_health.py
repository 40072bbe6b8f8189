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
