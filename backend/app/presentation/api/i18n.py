"""Problem messages in the caller's language, chosen from `Accept-Language` (English by default).

Each feature has a catalog (`messages/<feature>.py`: language -> code -> template) with a message
for each of its error codes in every supported language; `{placeholders}` are filled from the
error's params. A `Translator` serves the messages of a set of catalogs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from starlette.types import Scope

from app.presentation.api.messages import platform

DEFAULT_LANGUAGE: Final = "en"
SUPPORTED_LANGUAGES: Final = frozenset({"en", "fr", "de"})
# The code whose message answers for a code no catalog has.
FALLBACK_CODE: Final = "http_error"

# language -> error code -> message template
MessageCatalog = Mapping[str, Mapping[str, str]]


class Translator:
    """The messages of a set of catalogs, merged; the platform catalog is always one of them.

    Refuses a code two catalogs define (which message would win would depend on their order) and a
    language the API does not negotiate (its messages would never be served).
    """

    def __init__(self, catalogs: Iterable[MessageCatalog]) -> None:
        self._messages: dict[str, dict[str, str]] = {lang: {} for lang in SUPPORTED_LANGUAGES}
        catalogs = tuple(catalogs)
        if not any(catalog is platform.MESSAGES for catalog in catalogs):
            catalogs = (platform.MESSAGES, *catalogs)
        for catalog in catalogs:
            self._add(catalog)

    def _add(self, catalog: MessageCatalog) -> None:
        for language, messages in catalog.items():
            if language not in SUPPORTED_LANGUAGES:
                raise ValueError(f"{language!r} is not a supported language")
            merged = self._messages[language]
            for code, template in messages.items():
                if code in merged:
                    raise ValueError(f"{code!r} is defined twice in {language!r}")
                merged[code] = template

    @property
    def messages(self) -> Mapping[str, Mapping[str, str]]:
        """language -> code -> template, over every catalog."""
        return self._messages

    def translate(self, code: str, language: str, params: dict[str, Any] | None = None) -> str:
        catalog = self._messages.get(language, self._messages[DEFAULT_LANGUAGE])
        template = catalog.get(code) or self._messages[DEFAULT_LANGUAGE].get(code)
        if template is None:
            template = catalog.get(FALLBACK_CODE) or self._messages[DEFAULT_LANGUAGE][FALLBACK_CODE]
        try:
            return template.format(**(params or {}))
        except (KeyError, IndexError, ValueError):
            return template


PLATFORM_TRANSLATOR: Final = Translator([platform.MESSAGES])


def translator_of(scope: Scope) -> Translator:
    """The translator of the app serving `scope`; the platform's where the app has none (a
    response sent before the app sees the request, or an app without problem handlers)."""
    state = getattr(scope.get("app"), "state", None)
    translator = getattr(state, "translator", None)
    return translator if isinstance(translator, Translator) else PLATFORM_TRANSLATOR


def negotiate_language(accept_language: str | None) -> str:
    """The supported language the caller prefers most (RFC 9110 quality values), else English."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().split("-")[0].lower()
        if language in SUPPORTED_LANGUAGES and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
