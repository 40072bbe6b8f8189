"""Guessability of passwords with zxcvbn (`PasswordStrengthChecker` port).

zxcvbn's cost grows steeply with length, and most of all with the number of l33t-like characters
(`@ $ ! | 0 1 3 4 ...`): measured here, one call takes ~10 ms on 32 random characters but 0.1-2 s on
64, and up to 6 s on 128. So a password is judged in chunks of at most `CHUNK_LENGTH` characters
(worst measured ~0.3 s each, usually ~10 ms), and its guesses are the product of its chunks'
guesses: guessing the whole means guessing every part. A password that merely repeats a shorter
one is judged as that shorter one, since splitting a repetition would hide it from zxcvbn.
A password of up to `CHUNK_LENGTH` characters gets exactly zxcvbn's own verdict.

zxcvbn is imported on the first password judged, not with this module: its frequency lists take
about 12 MiB, which an API process that only logs people in never needs.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Sequence
from typing import Any

MIN_SCORE = 3  # zxcvbn's "safely unguessable: moderate protection from offline slow-hash attack"
# zxcvbn gives score 3 from 10^8 + 5 guesses on (its `guesses_to_score`).
MIN_GUESSES_LOG10 = math.log10(10**8 + 5)
CHUNK_LENGTH = 32
MAX_LENGTH = 128  # the domain's limit (`PASSWORD_MAX_LENGTH`)
# Judging is CPU work in a thread, one at a time: that leaves the event loop its share of the
# GIL, and zxcvbn keeps the user inputs in a module global, so two calls at once would each judge
# with the other's inputs (the lock below guards that for every caller in the process).
MAX_CONCURRENT_CHECKS = 1
_ZXCVBN_LOCK = threading.Lock()
REPEAT_WARNING = 'Repeats like "abcabcabc" are only slightly harder to guess than "abc".'
FALLBACK_WARNING = "Add another word or two. Uncommon words are better."


def zxcvbn(password: str, user_inputs: list[str]) -> dict[str, Any]:
    """zxcvbn's own verdict on `password` (its module loaded on the first call)."""
    from zxcvbn import zxcvbn as judge_with_zxcvbn  # noqa: PLC0415

    return dict(judge_with_zxcvbn(password, user_inputs=user_inputs))


def shortest_period(password: str) -> int:
    """The length of the shortest `base` such that `password` is `base` repeated (and cut)."""
    # The prefix function of Knuth-Morris-Pratt: linear time even on adversarial input.
    border = [0] * len(password)
    for index in range(1, len(password)):
        length = border[index - 1]
        while length and password[index] != password[length]:
            length = border[length - 1]
        if password[index] == password[length]:
            length += 1
        border[index] = length
    period = len(password) - (border[-1] if password else 0)
    return period if period < len(password) else len(password)


def judge(password: str, user_inputs: Sequence[str]) -> str | None:
    """Why `password` is too easy to guess, or None (synchronous: run it off the event loop)."""
    base = password[: shortest_period(password)]
    chunks = [base[start : start + CHUNK_LENGTH] for start in range(0, len(base), CHUNK_LENGTH)]
    guesses_log10 = 0.0
    weakest: dict[str, Any] | None = None
    for chunk in chunks:
        with _ZXCVBN_LOCK:
            result = zxcvbn(chunk, user_inputs=list(user_inputs))
        if len(chunks) == 1 and result["score"] >= MIN_SCORE:
            return None
        guesses_log10 += result["guesses_log10"]
        if len(chunks) > 1 and guesses_log10 >= MIN_GUESSES_LOG10:
            return None
        if weakest is None or result["guesses_log10"] < weakest["guesses_log10"]:
            weakest = result
    feedback = weakest["feedback"] if weakest else {}
    warning = REPEAT_WARNING if len(base) < len(password) else feedback.get("warning")
    reasons = [warning, *feedback.get("suggestions", [])]
    sentences = [reason.strip().rstrip(".") + "." for reason in reasons if reason]
    return " ".join(dict.fromkeys(sentences or [FALLBACK_WARNING]))  # each sentence once


class ZxcvbnPasswordStrengthChecker:
    def __init__(self, max_concurrent_checks: int = MAX_CONCURRENT_CHECKS) -> None:
        self._slots = asyncio.Semaphore(max_concurrent_checks)

    async def weakness(self, password: str, *, user_inputs: Sequence[str]) -> str | None:
        if len(password) > MAX_LENGTH:  # the domain refuses these first; judging them is costly
            return f"Use at most {MAX_LENGTH} characters."
        async with self._slots:
            return await asyncio.to_thread(judge, password, [u for u in user_inputs if u])
