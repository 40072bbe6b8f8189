"""The problem handlers answer with the app's own family table and translator."""

from __future__ import annotations

from typing import ClassVar

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

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
