"""Free text from users: no control characters (PostgreSQL refuses NUL; others hide in logs)."""

from __future__ import annotations

import unicodedata

# Line breaks and tabs belong in long text such as descriptions.
_TEXT_LAYOUT = frozenset("\n\r\t")


def reject_control_characters(value: str, *, allow_layout: bool = False) -> str:
    """`value` unchanged; ValueError if it holds a control character (NUL, ESC, …)."""
    for character in value:
        if unicodedata.category(character) == "Cc" and not (
            allow_layout and character in _TEXT_LAYOUT
        ):
            raise ValueError("must not contain control characters")
    return value
