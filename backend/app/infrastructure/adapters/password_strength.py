"""Guessability of passwords with zxcvbn (`PasswordStrengthChecker` port)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from zxcvbn import zxcvbn

MIN_SCORE = 3  # zxcvbn's "safely unguessable: moderate protection from offline slow-hash attack"
MAX_LENGTH = 128  # our own limit; zxcvbn's default (72) would refuse longer ones


class ZxcvbnPasswordStrengthChecker:
    async def weakness(self, password: str, *, user_inputs: Sequence[str]) -> str | None:
        # zxcvbn is pure Python and can take a few hundred milliseconds on long repetitive input:
        # a worker thread keeps the event loop answering other requests meanwhile.
        result = await asyncio.to_thread(
            zxcvbn, password, user_inputs=list(user_inputs), max_length=MAX_LENGTH
        )
        if result["score"] >= MIN_SCORE:
            return None
        feedback = result["feedback"]
        reasons = [
            feedback.get("warning") or "is too easy to guess",
            *feedback.get("suggestions", []),
        ]
        return " ".join(reason.strip().rstrip(".") + "." for reason in reasons if reason)
