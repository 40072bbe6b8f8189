"""Problem messages of the sessions work, in every supported language (merged by `i18n`)."""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {},
    "fr": {},
    "de": {},
}
