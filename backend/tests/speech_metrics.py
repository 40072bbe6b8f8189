"""How close a transcript is to what was said: the word error rate, shared by the recogniser's
tests and the benchmark."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped: "It's 7, OK?" → ["it's", "7", "ok"]."""
    return _WORD.findall(text.lower())


def word_edits(reference: str, hypothesis: str) -> int:
    """Substitutions, deletions and insertions that turn the reference's words into the
    hypothesis's (Levenshtein distance over words)."""
    said, heard = words(reference), words(hypothesis)
    previous = list(range(len(heard) + 1))
    for i, said_word in enumerate(said, start=1):
        current = [i]
        for j, heard_word in enumerate(heard, start=1):
            current.append(
                min(
                    previous[j] + 1,  # a said word was not heard
                    current[j - 1] + 1,  # a word was heard that was not said
                    previous[j - 1] + (said_word != heard_word),
                )
            )
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word edits per reference word (0 is perfect; above 1 when much was heard that was not
    said). A reference with no words scores 0 against an empty hypothesis, 1 otherwise."""
    reference_words = len(words(reference))
    if reference_words == 0:
        return 0.0 if not words(hypothesis) else 1.0
    return word_edits(reference, hypothesis) / reference_words
