"""Cursor pagination: opaque cursors over a stable key (the id), so pages survive concurrent inserts."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from app.application.errors import MalformedRequestError
from app.domain.errors import InvalidValueError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Cursors we issue are about 70 characters; anything much longer was not issued by us.
MAX_CURSOR_LENGTH = 256

T = TypeVar("T")


class _Identified(Protocol):
    @property
    def id(self) -> UUID: ...


Row = TypeVar("Row", bound=_Identified)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: UUID) -> str:
    payload = json.dumps({"after": str(last_id)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> UUID | None:
    """The id a cursor points after; InvalidCursorError for anything we did not issue."""
    if cursor is None:
        return None
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursorError()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        after = payload.get("after") if isinstance(payload, dict) else None
        if not isinstance(after, str):
            raise InvalidCursorError()
        return UUID(after)
    except (ValueError, binascii.Error, UnicodeEncodeError, RecursionError) as exc:
        raise InvalidCursorError() from exc


def ensure_page_size(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidValueError(field="limit", reason=f"must be from 1 to {MAX_PAGE_SIZE}")


def page_of(rows: Sequence[Row], limit: int) -> Page[Row]:
    """The page of `rows`, read with `limit + 1`: the extra row, without a COUNT, tells whether
    another page follows, and the cursor points after the last row shown."""
    items = list(rows[:limit])
    has_more = len(rows) > limit
    return Page(items=items, next_cursor=encode_cursor(items[-1].id) if has_more else None)


class InvalidCursorError(MalformedRequestError):
    """A cursor we did not issue (or one altered since)."""

    code = "pagination.invalid_cursor"
