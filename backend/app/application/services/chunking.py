"""Cutting a text into chunks for embedding: whole sentences up to a token budget, with overlap.

A chunk is as many consecutive sentences as fit in `max_tokens` of the embedding model (which reads
no further); the next chunk starts with the last sentences of the one before, up to
`overlap_tokens`, so a passage cut at a boundary is still found whole in one of the two. A sentence
longer than the budget (a transcript has no punctuation at all) is cut between words into runs
of an overlap's length, which then pack into chunks like sentences. Each chunk
keeps its character offsets in the text (end exclusive), so a search hit points back into it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# A sentence ends at . ! ? (with closing quotes or brackets) before white space, or at a blank
# line; a line break alone (a wrapped paragraph) does not end one.
_SENTENCE = re.compile(r".+?(?:[.!?]+[\"')\]]*(?=\s)|\n\s*\n|$)", re.DOTALL)
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class TextSpan:
    start: int
    end: int  # exclusive


@dataclass(frozen=True, slots=True)
class ChunkingPolicy:
    max_tokens: int = 128
    overlap_tokens: int = 24

    def __post_init__(self) -> None:
        if self.max_tokens < 8:
            raise ValueError("max_tokens must be at least 8")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ValueError("overlap_tokens must be from 0 to under half of max_tokens")


def sentence_spans(text: str) -> list[TextSpan]:
    """The sentences of `text`, each trimmed of surrounding white space; none empty."""
    spans = []
    for match in _SENTENCE.finditer(text):
        span = _trimmed(text, match.start(), match.end())
        if span is not None:
            spans.append(span)
    return spans


def chunk_text(
    text: str, policy: ChunkingPolicy, count_tokens: Callable[[str], int]
) -> list[TextSpan]:
    """The chunks of `text` under `policy`, in order; [] for a text with nothing but spaces."""
    pieces = [
        (piece, count_tokens(text[piece.start : piece.end]))
        for sentence in sentence_spans(text)
        for piece in _fitting(text, sentence, policy, count_tokens)
    ]
    chunks: list[TextSpan] = []
    first = 0
    while first < len(pieces):
        last, total = first, pieces[first][1]
        while last + 1 < len(pieces) and total + pieces[last + 1][1] <= policy.max_tokens:
            last += 1
            total += pieces[last][1]
        chunks.append(TextSpan(pieces[first][0].start, pieces[last][0].end))
        if last + 1 >= len(pieces):
            break
        # Start the next chunk with the last pieces of this one that fit in the overlap, but
        # always move on by at least one piece.
        following, overlap = last + 1, 0
        while following - 1 > first and overlap + pieces[following - 1][1] <= policy.overlap_tokens:
            following -= 1
            overlap += pieces[following][1]
        first = following
    return chunks


def _fitting(
    text: str, sentence: TextSpan, policy: ChunkingPolicy, count_tokens: Callable[[str], int]
) -> list[TextSpan]:
    """The sentence, or, when it is over the budget, runs of its words an overlap long (so the
    chunks made of them overlap as chunks of sentences do; the whole budget without overlap)."""
    if count_tokens(text[sentence.start : sentence.end]) <= policy.max_tokens:
        return [sentence]
    max_tokens = policy.overlap_tokens or policy.max_tokens
    words = [
        TextSpan(word.start(), word.end())
        for word in _WORD.finditer(text, sentence.start, sentence.end)
    ]
    pieces: list[TextSpan] = []
    start = 0
    total = 0
    for index, word in enumerate(words):
        tokens = count_tokens(text[word.start : word.end])
        if index > start and total + tokens > max_tokens:
            pieces.append(TextSpan(words[start].start, words[index - 1].end))
            start, total = index, 0
        total += tokens
    pieces.append(TextSpan(words[start].start, words[-1].end))
    return pieces


def _trimmed(text: str, start: int, end: int) -> TextSpan | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return TextSpan(start, end) if end > start else None
