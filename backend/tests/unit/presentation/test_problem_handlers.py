"""The problem handlers answer with the app's own family table and translator."""

from __future__ import annotations

from typing import ClassVar

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import exc as sqlalchemy_exc

from app.domain.errors import DomainError
from app.presentation.api.i18n import Translator
from app.presentation.api.problem import install_problem_handlers, merged_error_statuses


class QuotaExceededError(DomainError):
    """A family only this test's feature declares."""

    code = "test.quota_exceeded"
    public_params: ClassVar[tuple[str, ...]] = ("quota",)


class UnmappedError(DomainError):
    code = "test.unmapped"


CATALOG = {
    "en": {"test.quota_exceeded": "Over your quota of {quota}."},
    "fr": {"test.quota_exceeded": "Quota de {quota} dépassé."},
    "de": {"test.quota_exceeded": "Kontingent von {quota} überschritten."},
}


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(
        app,
        error_statuses=merged_error_statuses([{QuotaExceededError: 507}]),
        translator=Translator([CATALOG]),
    )

    @app.get("/fails")
    async def fails() -> None:
        raise error

    return app


async def get(app: FastAPI, **headers: str) -> tuple[int, dict[str, object], str]:
    transport = ASGITransport(app=app, raise_app_exceptions=True)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/fails", headers=headers)
    return response.status_code, response.json(), response.headers["content-language"]


async def test_a_features_family_answers_with_its_status_and_catalog() -> None:
    status, body, language = await get(
        app_raising(QuotaExceededError(quota=3)), **{"Accept-Language": "fr"}
    )

    assert (status, language) == (507, "fr")
    assert body["code"] == "test.quota_exceeded"
    assert body["detail"] == "Quota de 3 dépassé."
    assert body["quota"] == 3  # an extension member, from the error's public params


async def test_the_translator_is_kept_on_the_app() -> None:
    app = app_raising(QuotaExceededError(quota=3))

    assert app.state.translator.translate("test.quota_exceeded", "de", {"quota": 1}) == (
        "Kontingent von 1 überschritten."
    )


async def test_an_error_of_no_mapped_family_is_not_answered_as_a_client_error() -> None:
    with pytest.raises(LookupError, match="UnmappedError"):
        await get(app_raising(UnmappedError()))


class _ConnectionClosedMidOperationError(Exception):
    """What asyncpg raises when the server goes away under a query (the driver's own class)."""


async def test_a_driver_error_that_lost_the_connection_is_a_503_with_retry_after() -> None:
    # SQLAlchemy wraps asyncpg's "connection was closed in the middle of operation" in a plain
    # DBAPIError and flags it invalidated: the database went away, the client may retry.
    lost = sqlalchemy_exc.DBAPIError(
        "SELECT 1", None, _ConnectionClosedMidOperationError(), connection_invalidated=True
    )
    transport = ASGITransport(app=app_raising(lost))
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/fails")
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["code"] == "service_unavailable"


async def test_any_other_driver_error_is_a_bug_and_is_not_dressed_as_a_503() -> None:
    broken = sqlalchemy_exc.IntegrityError("INSERT", None, Exception("duplicate key"))
    with pytest.raises(sqlalchemy_exc.IntegrityError):
        await get(app_raising(broken))
