from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from app.domain.value_objects.text import reject_control_characters

T = TypeVar("T")

# For single-line text in query strings: a NUL or other control character is a 422, not a 500.
PlainText = AfterValidator(
    lambda value: None if value is None else reject_control_characters(value)
)


class RequestBody(BaseModel):
    """Base of every JSON request body: unknown fields are refused (422), strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatchBody(RequestBody):
    """A partial update: fields may be left out, but one that is sent may not be null."""

    @model_validator(mode="after")
    def _no_explicit_nulls(self) -> Any:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"may not be null: {', '.join(nulls)}")
        return self


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
