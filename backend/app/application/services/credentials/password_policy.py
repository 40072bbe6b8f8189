"""The whole password rule: NIST-style length (domain) and not guessable (zxcvbn score ≥ 3, with
the account's own e-mail and name counted as guessable)."""

from __future__ import annotations

from app.application.interfaces.credentials import PasswordStrengthChecker
from app.domain.entities.user import WeakPasswordError
from app.domain.value_objects.password import ensure_acceptable_password, normalize_password


class PasswordPolicy:
    def __init__(self, checker: PasswordStrengthChecker) -> None:
        self._checker = checker

    async def ensure_strong(
        self, password: str, *, email: str, full_name: str | None, field: str = "password"
    ) -> None:
        ensure_acceptable_password(password, email=email, field=field)
        user_inputs = [email, email.split("@", 1)[0], *(full_name or "").split()]
        # Judged as it is hashed (NFKC): "password" in fullwidth letters is as guessable.
        normalized = normalize_password(password)
        weakness = await self._checker.weakness(normalized, user_inputs=user_inputs)
        if weakness is not None:
            raise WeakPasswordError(field=field, reason=f"is too easy to guess. {weakness}")
