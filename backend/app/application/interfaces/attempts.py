"""Port: the budgets of password and code checks, per account (rate limits in production)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID


class CredentialAttempts(Protocol):
    """Counts one check against an account's budget before the check is made.

    Each method raises RateLimitedError (with `retry_after_seconds`) when the budget is spent, and
    DependencyUnavailableError when the counter cannot answer: it fails closed, never open.
    """

    async def password_or_code(self, email: str) -> None:
        """One check of the account's password or second-factor code: login, password change,
        MFA disable and enable, account erasure and the MFA login step share this one budget."""
        ...

    async def mfa_login_code(self, user_id: UUID) -> None:
        """One code tried at the second step of a login, whatever `mfa_token` carried it."""
        ...
