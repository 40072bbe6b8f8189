"""The one rule for text users send, whatever the field and whichever the database.

- No control character (Unicode category Cc: NUL, ESC, DEL, the C1 controls …) and no surrogate
  (Cs: a lone half of a UTF-16 pair, which JSON can spell as `\\ud800` but UTF-8 cannot store).
  PostgreSQL refuses NUL outright (a 500, where SQLite would have stored it); the others hide in
  logs and terminals.
- Long free text (descriptions) may also hold line breaks and tabs (`\\n`, `\\r`, `\\t`);
  everything else (names, categories, metadata…) is a single line.
- Fields say themselves whether they are trimmed; the check applies to what is stored.

`SINGLE_LINE_PATTERN` and `MULTI_LINE_PATTERN` state the same rule as a JSON Schema (ECMA-262)
`pattern`, for the published API schema.
"""

from __future__ import annotations

import unicodedata

# Line breaks and tabs belong in long text such as descriptions.
_TEXT_LAYOUT = frozenset("\n\r\t")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})

SINGLE_LINE_PATTERN = r"^[^\u0000-\u001F\u007F-\u009F]*$"
# A single line with something besides white space (what a required name is, once trimmed).
NON_BLANK_LINE_PATTERN = (
    r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
)
MULTI_LINE_PATTERN = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"


def reject_control_characters(value: str, *, allow_layout: bool = False) -> str:
    """`value` unchanged; ValueError if it holds a control character (NUL, ESC, …) or a surrogate.
    With `allow_layout`, line breaks and tabs are allowed."""
    for character in value:
        if unicodedata.category(character) in _REFUSED_CATEGORIES and not (
            allow_layout and character in _TEXT_LAYOUT
        ):
            raise ValueError("must not contain control characters")
    return value
