from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    model_validator,
)

from app.application.services.session import TokenPair
from app.domain.value_objects.currency import ISO_4217_CODES
from app.domain.value_objects.password import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from app.domain.value_objects.text import (
    MULTI_LINE_PATTERN,
    NON_BLANK_LINE_PATTERN,
    SINGLE_LINE_PATTERN,
    TRIMMED_EDGE,
    reject_control_characters,
)

T = TypeVar("T")

# For single-line text in query strings: a NUL or other control character is a 422, not a 500.
PlainText = AfterValidator(
    lambda value: None if value is None else reject_control_characters(value)
)


def AsSent(max_length: int) -> Any:  # noqa: N802 - used like pydantic's Field
    """At most `max_length` characters as sent, white space included (the published maxLength
    counts the string sent; trimming comes after)."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return value

    return BeforeValidator(check)


# The text rule (domain.value_objects.text), stated in the published schema; the domain enforces it.
_TRIMMED = "Leading and trailing white space is trimmed; no control characters"
OneLine = Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN}, description=f"{_TRIMMED}.")
NonBlankLine = Field(
    json_schema_extra={"pattern": NON_BLANK_LINE_PATTERN},
    description=f"{_TRIMMED}; not blank.",
)
MultiLine = Field(
    json_schema_extra={"pattern": MULTI_LINE_PATTERN},
    description=f"{_TRIMMED} but line breaks and tabs.",
)


def _whole_number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer as JSON Schema means it: 24.0 is one (as the published schema says), "24" and 24.5
# are not.
WholeNumber = BeforeValidator(_whole_number)  # after the constraints of a StrictInt

# An ISO 4217 code, in any case (the server answers in upper case).
CURRENCY_PATTERN = (
    f"^{TRIMMED_EDGE}(?:"
    + "|".join(
        "".join(f"[{letter}{letter.lower()}]" for letter in code) for code in sorted(ISO_4217_CODES)
    )
    + f"){TRIMMED_EDGE}$"
)
IsoCurrency = Field(
    json_schema_extra={"pattern": CURRENCY_PATTERN},
    description="An ISO 4217 code, any case, trimmed; answered in upper case.",
)


def _optional_not_null(schema: dict[str, Any]) -> None:
    """A PATCH field may be left out but not sent as null: say so in the published schema."""
    for field in schema.get("properties", {}).values():
        variants = field.get("anyOf")
        if variants and {"type": "null"} in variants:
            kept = [variant for variant in variants if variant != {"type": "null"}]
            del field["anyOf"]
            if len(kept) == 1:
                field.update(kept[0])
            else:
                field["anyOf"] = kept
        if field.get("default", 0) is None:
            del field["default"]


class RequestBody(BaseModel):
    """Base of every JSON request body: unknown fields are refused (422), strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatchBody(RequestBody):
    """A partial update: fields may be left out, but one that is sent may not be null."""

    model_config = ConfigDict(json_schema_extra=_optional_not_null)

    @model_validator(mode="after")
    def _no_explicit_nulls(self) -> Any:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"may not be null: {', '.join(nulls)}")
        return self


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


# A new password (registration, change and reset). The domain judges its NFKC form (which may be longer or shorter than what was
# typed: "ﬃ" is "ffi"), so its length rule is stated in words, not as minLength/maxLength of the
# string sent; one it refuses is a 422 `user.weak_password` with the reason.
NewPassword = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=1024,
        description=f"Exactly as typed (never trimmed); {PASSWORD_MIN_LENGTH} to "
        f"{PASSWORD_MAX_LENGTH} characters once NFKC-normalized, and hard to guess.",
    ),
]


# What a finished login answers, with or without a second factor (session and credentials).
class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokenPairOut:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
        )
