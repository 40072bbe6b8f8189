"""The password policy (NIST SP 800-63B): length matters, composition rules do not.

A password is Unicode-normalized with NFKC (SP 800-63B 5.1.1.2) before it is judged, hashed or
checked, so "é" typed as one code point on one device and as "e" + a combining accent on another
is the same password, as are "ﬁ" and "fi" or fullwidth and plain letters. The password hasher
applies `normalize_password` on every hash and check (infrastructure/adapters/password_hasher.py),
so no caller can forget it; the rules below judge the normalized form.
"""

from __future__ import annotations

import unicodedata

from app.domain.entities.user import WeakPasswordError

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128


def ensure_acceptable_password(password: str, *, email: str, field: str = "password") -> None:
    """Raise WeakPasswordError unless `password` may be stored for the account `email`.

    Every rule judges the NFKC form, the one that is hashed.
    """
    password = normalize_password(password)
    email = normalize_password(email)
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


def normalize_password(password: str) -> str:
    """The form of `password` that is hashed and checked (NFKC; nothing else is changed: case
    and spaces are kept, since they are part of what the user chose)."""
    return unicodedata.normalize("NFKC", password)
