"""The password policy (NIST SP 800-63B): length matters, composition rules do not."""

from __future__ import annotations

from app.domain.errors import WeakPasswordError

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128


def ensure_acceptable_password(password: str, *, email: str, field: str = "password") -> None:
    """Raise WeakPasswordError unless `password` may be stored for the account `email`."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise WeakPasswordError(
            field=field, reason=f"must be at least {PASSWORD_MIN_LENGTH} characters"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise WeakPasswordError(
            field=field, reason=f"must be at most {PASSWORD_MAX_LENGTH} characters"
        )
    lowered = password.lower()
    if len(set(lowered)) < 4:
        raise WeakPasswordError(field=field, reason="is too repetitive")
    if lowered in {email.lower(), email.split("@", 1)[0].lower()}:
        raise WeakPasswordError(field=field, reason="must not be your e-mail address")
