"""Problem messages in the caller's language, chosen from Accept-Language (coverage of the
catalogs: test_messages)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.entities.user import WeakPasswordError
from app.presentation.api.i18n import (
    PLATFORM_TRANSLATOR,
    SUPPORTED_LANGUAGES,
    Translator,
    negotiate_language,
    translator_of,
)
from app.presentation.api.messages import platform, product
from tests.databases import registered_features

TRANSLATOR = Translator(registered_features().message_catalogs)
MESSAGES = TRANSLATOR.messages
translate = TRANSLATOR.translate


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("FR-ca", "fr"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr-CA, en;q=0.5", "fr"),
        ("de;q=0.2, fr;q=0.9", "fr"),
        ("es, it, de;q=0.1", "de"),
        ("es", "en"),
        ("*", "en"),
        ("fr;q=0", "en"),
        ("fr;q=0, de;q=0.001", "de"),
        ("en;q=0.5, fr;q=0.5", "en"),  # equal quality: the first listed wins
        ("fr;q=0.5, en;q=0.5", "fr"),
        ("fr;q=abc, de", "de"),  # an unreadable quality drops that entry only
        ("fr;q=nan, de;q=0.1", "de"),
    ],
)
def test_negotiates_the_preferred_supported_language(header: str | None, language: str) -> None:
    assert negotiate_language(header) == language


@given(st.text())
def test_negotiation_never_raises_and_always_picks_a_supported_language(header: str) -> None:
    assert negotiate_language(header) in SUPPORTED_LANGUAGES


@given(
    language=st.sampled_from(sorted(SUPPORTED_LANGUAGES)),
    quality=st.floats(min_value=0.001, max_value=1),
    region=st.sampled_from(["", "-CH", "-be", "-419"]),
)
def test_a_single_supported_language_with_positive_quality_is_chosen(
    language: str, quality: float, region: str
) -> None:
    assert negotiate_language(f"{language}{region};q={quality}") == language


def test_translates_a_code_into_the_language() -> None:
    assert translate("product.not_found", "fr") == "Ce produit n'existe pas."
    assert translate("product.not_found", "de") == "Dieses Produkt existiert nicht."


def test_fills_placeholders_from_the_error_params() -> None:
    error = WeakPasswordError(field="password", reason="is too repetitive")

    assert translate(error.code, "en", error.params) == (
        "The password is too weak: it is too repetitive."
    )
    assert translate("request_too_large", "de", {"limit": 1024}) == (
        "Der Anfragekörper ist größer als die erlaubten 1024 Bytes."
    )


def test_an_unknown_language_falls_back_to_english() -> None:
    assert translate("product.not_found", "xx") == MESSAGES["en"]["product.not_found"]


def test_an_unknown_code_falls_back_to_the_generic_message_of_the_language() -> None:
    assert translate("no.such.code", "fr") == MESSAGES["fr"]["http_error"]


def test_missing_params_leave_the_template_rather_than_fail() -> None:
    assert translate("request_too_large", "en") == MESSAGES["en"]["request_too_large"]


def test_a_translator_always_has_the_platform_messages() -> None:
    translator = Translator([product.MESSAGES])

    assert translator.translate("product.not_found", "en") == "This product does not exist."
    assert translator.translate("internal_error", "fr") == platform.MESSAGES["fr"]["internal_error"]


def test_a_scope_gets_its_apps_translator_else_the_platforms() -> None:
    class State:
        translator = TRANSLATOR

    class App:
        state = State()

    assert translator_of({"type": "http", "app": App()}) is TRANSLATOR
    assert translator_of({"type": "http"}) is PLATFORM_TRANSLATOR
