"""E-mail addresses, normalised so that uniqueness is case-insensitive."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from app.domain.errors import InvalidValueError

EMAIL_MAX_LENGTH = 254


def normalize_email(raw: str, *, field: str = "email") -> str:
    """The address in its canonical, lower-case form; raises InvalidValueError when malformed."""
    candidate = raw.strip()
    if not candidate or len(candidate) > EMAIL_MAX_LENGTH:
        raise InvalidValueError(field=field, reason="must be a valid e-mail address")
    try:
        address = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValueError(field=field, reason="must be a valid e-mail address") from exc
    return address.normalized.lower()
