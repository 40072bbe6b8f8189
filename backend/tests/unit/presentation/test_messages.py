"""Every code the API can answer with has a message in every supported language (issue 10 §3)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from string import Formatter

import pytest

import app.presentation
from app.presentation.api.i18n import SUPPORTED_LANGUAGES, MessageCatalog, Translator
from app.presentation.api.messages import platform
from app.presentation.api.problem import _CODE_BY_STATUS
from tests.databases import registered_features
from tests.error_classes import every_error_class

MESSAGES = Translator(registered_features().message_catalogs).messages


def codes_the_presentation_emits() -> set[str]:
    """The framework's codes, and every `code="..."` a presentation module passes literally."""
    codes = set(_CODE_BY_STATUS.values())
    for module in pkgutil.walk_packages(app.presentation.__path__, "app.presentation."):
        source = Path(str(importlib.import_module(module.name).__file__)).read_text()
        for node in ast.walk(ast.parse(source)):
            literal = isinstance(node, ast.keyword) and isinstance(node.value, ast.Constant)
            if literal and node.arg == "code" and isinstance(node.value.value, str):
                codes.add(node.value.value)
    return codes


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field is not None}


ERROR_CODES = sorted({error.code for error in every_error_class()})
EMITTED_CODES = sorted(codes_the_presentation_emits())


@pytest.mark.parametrize("language", sorted(SUPPORTED_LANGUAGES))
@pytest.mark.parametrize("code", ERROR_CODES)
def test_every_error_code_has_a_message_in_every_language(code: str, language: str) -> None:
    assert code in MESSAGES[language]


@pytest.mark.parametrize("language", sorted(SUPPORTED_LANGUAGES))
@pytest.mark.parametrize("code", EMITTED_CODES)
def test_every_code_the_presentation_emits_has_a_message(code: str, language: str) -> None:
    assert code in MESSAGES[language]


def test_the_emitted_codes_include_the_middlewares() -> None:
    assert {"internal_error", "request_too_large", "service_unavailable"} <= set(EMITTED_CODES)


@pytest.mark.parametrize(
    "catalog",
    [platform.MESSAGES, *registered_features().message_catalogs],
    ids=["platform", *(f.key for f in registered_features() if f.messages)],
)
def test_a_catalog_has_the_same_codes_in_every_language(catalog: MessageCatalog) -> None:
    assert catalog.keys() == SUPPORTED_LANGUAGES
    english = catalog["en"].keys()
    for language, messages in catalog.items():
        assert messages.keys() == english, language


@pytest.mark.parametrize("code", sorted(MESSAGES["en"]))
def test_placeholders_agree_across_languages(code: str) -> None:
    english = placeholders(MESSAGES["en"][code])
    for language in SUPPORTED_LANGUAGES:
        assert placeholders(MESSAGES[language][code]) == english, language


def test_a_code_defined_in_two_catalogs_is_refused() -> None:
    feature = {language: {"product.not_found": "again"} for language in SUPPORTED_LANGUAGES}

    with pytest.raises(ValueError, match=r"product\.not_found"):
        Translator([*registered_features().message_catalogs, feature])


def test_an_unsupported_language_is_refused() -> None:
    with pytest.raises(ValueError, match="'es'"):
        Translator([{"es": {"test.code": "hola"}}])
