"""Problem messages in the caller's language, chosen from Accept-Language."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import errors
from app.presentation.api.i18n import (
    DEFAULT_LANGUAGE,
    MESSAGES,
    SUPPORTED_LANGUAGES,
    negotiate_language,
    translate,
)


def all_subclasses(cls: type[errors.DomainError]) -> set[type[errors.DomainError]]:
    direct = set(cls.__subclasses__())
    return direct.union(*(all_subclasses(sub) for sub in direct))


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


def test_every_language_has_a_message_for_every_code() -> None:
    for language, catalogue in MESSAGES.items():
        assert catalogue.keys() == MESSAGES[DEFAULT_LANGUAGE].keys(), language


def test_every_domain_error_code_has_a_message() -> None:
    codes = {error.code for error in all_subclasses(errors.DomainError)}

    assert codes <= MESSAGES[DEFAULT_LANGUAGE].keys()


def test_translates_a_code_into_the_language() -> None:
    assert translate("product.not_found", "fr") == "Ce produit n'existe pas."
    assert translate("product.not_found", "de") == "Dieses Produkt existiert nicht."


def test_fills_placeholders_from_the_error_params() -> None:
    error = errors.WeakPasswordError(field="password", reason="is too repetitive")

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
