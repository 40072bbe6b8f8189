"""The one rule for text users send, whatever the field and whichever the database.

- No control character (Unicode category Cc: NUL, ESC, DEL, the C1 controls …) and no surrogate
  (Cs: a lone half of a UTF-16 pair, which JSON can spell as `\\ud800` but UTF-8 cannot store).
  PostgreSQL refuses NUL outright (a server error, where SQLite would have stored it); the
  others hide in logs and terminals.
- Long free text (descriptions) may also hold line breaks and tabs (`\\n`, `\\r`, `\\t`);
  everything else (names, categories, metadata…) is a single line.
- Text in request bodies is trimmed first (white space at both ends, see `trim`); the rule applies
  to what is stored. Query strings are taken as sent.

The `*_PATTERN`s state the same rule as JSON Schema (ECMA-262) `pattern`s, for the published API
schema.
"""

from __future__ import annotations

import unicodedata

# Line breaks and tabs belong in long text such as descriptions.
_TEXT_LAYOUT = frozenset("\n\r\t")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})

# What trimming takes from both ends: Unicode White_Space, as pydantic's `str_strip_whitespace`
# does. (Python's str.strip() would also take \x1c-\x1f, controls the rule refuses instead.)
TRIMMED_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)

_W = r"\t\n\u000B\u000C\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_LINE = r"\u0000-\u001F\u007F-\u009F"  # refused in a single line
_TEXT = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F"  # refused in long text
# Text sent as is (query strings): a single line.
TRIMMED_EDGE = rf"[{_W}]*"  # what trimming takes, in a pattern
UNTRIMMED_LINE_PATTERN = rf"^[^{_LINE}]*$"
# Trimmed text (bodies): white space at either end goes, what remains follows the rule.
SINGLE_LINE_PATTERN = rf"^[{_W}]*(?:[^{_LINE}]*[^{_LINE}{_W}])?[{_W}]*$"
NON_BLANK_LINE_PATTERN = rf"^[{_W}]*[^{_LINE}{_W}](?:[^{_LINE}]*[^{_LINE}{_W}])?[{_W}]*$"
MULTI_LINE_PATTERN = rf"^[{_W}]*(?:[^{_TEXT}]*[^{_TEXT}{_W}])?[{_W}]*$"
# A payment metadata key: also not blank and without square brackets.
METADATA_KEY_PATTERN = rf"^[{_W}]*[^{_LINE}{_W}\[\]](?:[^{_LINE}\[\]]*[^{_LINE}{_W}\[\]])?[{_W}]*$"


def trim(value: str) -> str:
    """`value` without white space at either end (what `str_strip_whitespace` leaves)."""
    return value.strip(TRIMMED_WHITESPACE)


def reject_control_characters(value: str, *, allow_layout: bool = False) -> str:
    """`value` unchanged; ValueError if it holds a control character (NUL, ESC, …) or a surrogate.
    With `allow_layout`, line breaks and tabs are allowed."""
    for character in value:
        if unicodedata.category(character) in _REFUSED_CATEGORIES and not (
            allow_layout and character in _TEXT_LAYOUT
        ):
            raise ValueError("must not contain control characters")
    return value


def without_control_characters(value: str) -> str:
    """`value` with every control character and surrogate dropped: for text a client's software
    writes rather than a person types (its user agent), which is kept but never refused."""
    return "".join(
        character
        for character in value
        if unicodedata.category(character) not in _REFUSED_CATEGORIES
    )
