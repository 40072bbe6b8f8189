"""Chunking a text for embedding: sentences found and trimmed, every chunk within the model's
budget, consecutive chunks overlapping, offsets that point at the exact text, and nothing of the
text left out. A word-count tokenizer stands in for the model's: the rules do not depend on it."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.application.services.chunking import (
    ChunkingPolicy,
    TextSpan,
    chunk_text,
    sentence_spans,
)


def words(text: str) -> int:
    return len(text.split())


def sentences(text: str) -> list[str]:
    return [text[span.start : span.end] for span in sentence_spans(text)]


def chunks(text: str, policy: ChunkingPolicy) -> list[str]:
    return [text[span.start : span.end] for span in chunk_text(text, policy, words)]


def assert_invariants(text: str, policy: ChunkingPolicy, spans: list[TextSpan]) -> None:
    """What every chunking must hold, whatever the text."""
    for span in spans:
        piece = text[span.start : span.end]
        assert 0 <= span.start < span.end <= len(text)
        assert piece == piece.strip(), "a chunk is trimmed"
        assert words(piece) <= policy.max_tokens, "a chunk fits the model's budget"
        assert span.start == 0 or text[span.start - 1].isspace(), "a chunk starts at a word"
        assert span.end == len(text) or text[span.end].isspace(), "a chunk ends at a word"
    for before, after in pairwise(spans):
        assert before.start < after.start, "chunks move forward"
        assert before.end < after.end, "chunks move forward"
        if policy.overlap_tokens == 0:
            assert after.start >= before.end, "no overlap was asked for"
        else:
            shared = text[after.start : before.end] if after.start < before.end else ""
            assert words(shared) <= policy.overlap_tokens, "the overlap stays within its budget"
    covered: set[int] = set()
    for span in spans:
        covered.update(range(span.start, span.end))
    missed = [i for i, char in enumerate(text) if not char.isspace() and i not in covered]
    assert not missed, f"characters left out at {missed[:5]}"


# --------------------------------------------------------------------------------- sentences
def test_a_sentence_ends_at_a_full_stop_a_question_or_an_exclamation_before_a_space() -> None:
    assert sentences("It rained. Did it? It poured!") == ["It rained.", "Did it?", "It poured!"]


def test_punctuation_inside_a_word_or_a_number_does_not_end_a_sentence() -> None:
    assert sentences("Pi is 3.14 today. See example.com/a.b now.") == [
        "Pi is 3.14 today.",
        "See example.com/a.b now.",
    ]


def test_repeated_punctuation_stays_with_its_sentence() -> None:
    assert sentences("Wait... what?! Fine.") == ["Wait...", "what?!", "Fine."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("(See above.) Next one", ["(See above.)", "Next one"]),
        ("She asked 'why?') And went.", ["She asked 'why?')", "And went."]),
        ("[Applause.]  Thank you.", ["[Applause.]", "Thank you."]),
    ],
)
def test_closing_quotes_and_brackets_stay_with_the_sentence_they_close(
    text: str, expected: list[str]
) -> None:
    assert sentences(text) == expected


def test_a_blank_line_ends_a_paragraph_and_a_single_line_break_does_not() -> None:
    text = "Title\n\nA paragraph that\nwraps onto two lines\n \n\t\nEnd of it"
    assert sentences(text) == ["Title", "A paragraph that\nwraps onto two lines", "End of it"]


def test_sentences_are_trimmed_and_point_at_the_text() -> None:
    text = "  \n First one.   Second one.\t\n"
    spans = sentence_spans(text)
    assert [(text[s.start : s.end]) for s in spans] == ["First one.", "Second one."]
    assert spans[0] == TextSpan(text.index("First"), text.index("First") + len("First one."))


def test_text_without_punctuation_is_one_sentence() -> None:
    assert sentences("so then we went home and that was it") == [
        "so then we went home and that was it"
    ]


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t\n \r\n  "])
def test_a_text_of_white_space_has_no_sentences_and_no_chunks(text: str) -> None:
    assert sentence_spans(text) == []
    assert chunk_text(text, ChunkingPolicy(), words) == []


# ------------------------------------------------------------------------------------ budget
def test_sentences_are_packed_whole_into_chunks_up_to_the_budget() -> None:
    text = "One two three. Four five. Six seven eight. Nine ten. Eleven twelve thirteen. Fourteen."
    policy = ChunkingPolicy(max_tokens=8, overlap_tokens=3)

    assert chunks(text, policy) == [
        "One two three. Four five. Six seven eight.",
        "Six seven eight. Nine ten. Eleven twelve thirteen.",
        "Eleven twelve thirteen. Fourteen.",
    ]


def test_a_text_within_the_budget_is_one_chunk() -> None:
    text = "A short note. Nothing more."
    assert chunk_text(text, ChunkingPolicy(), words) == [TextSpan(0, len(text))]


def test_a_sentence_longer_than_the_budget_is_cut_between_words() -> None:
    sentence = " ".join(f"w{i}" for i in range(30)) + "."
    text = f"Short start. {sentence} Short end."
    policy = ChunkingPolicy(max_tokens=10, overlap_tokens=2)

    spans = chunk_text(text, policy, words)

    # Runs of two words (the overlap) pack like sentences: eight, then two shared per chunk.
    assert [text[s.start : s.end] for s in spans] == [
        "Short start. w0 w1 w2 w3 w4 w5 w6 w7",
        "w6 w7 w8 w9 w10 w11 w12 w13 w14 w15",
        "w14 w15 w16 w17 w18 w19 w20 w21 w22 w23",
        "w22 w23 w24 w25 w26 w27 w28 w29. Short end.",
    ]
    assert_invariants(text, policy, spans)


def test_an_unpunctuated_transcript_is_cut_into_overlapping_chunks_within_the_budget() -> None:
    transcript = " ".join(f"w{i}" for i in range(40))
    policy = ChunkingPolicy(max_tokens=8, overlap_tokens=3)

    got = chunks(transcript, policy)

    assert got[0] == "w0 w1 w2 w3 w4 w5"
    assert got[1] == "w3 w4 w5 w6 w7 w8"
    assert got[-1].endswith("w39")
    for before, after in pairwise(got):
        assert before.split()[-3:] == after.split()[:3], "three words shared"
    assert all(words(chunk) <= 8 for chunk in got)


def test_a_transcript_with_no_overlap_is_cut_into_whole_budgets_that_do_not_overlap() -> None:
    transcript = " ".join(f"w{i}" for i in range(20))
    policy = ChunkingPolicy(max_tokens=8, overlap_tokens=0)

    assert chunks(transcript, policy) == [
        "w0 w1 w2 w3 w4 w5 w6 w7",
        "w8 w9 w10 w11 w12 w13 w14 w15",
        "w16 w17 w18 w19",
    ]


# ----------------------------------------------------------------------------------- overlap
def test_consecutive_chunks_of_sentences_share_their_boundary_sentences() -> None:
    text = " ".join(f"Sentence number {i} here." for i in range(12))  # four words each
    policy = ChunkingPolicy(max_tokens=12, overlap_tokens=5)

    spans = chunk_text(text, policy, words)

    assert len(spans) > 2
    for before, after in pairwise(spans):
        assert after.start < before.end
        shared = text[after.start : before.end]
        assert shared == "Sentence number " + shared.split()[2] + " here."  # one whole sentence
    assert_invariants(text, policy, spans)


def test_a_last_sentence_bigger_than_the_overlap_is_not_repeated() -> None:
    text = "Aa bb cc dd ee. Ff gg hh ii jj. Kk ll."
    policy = ChunkingPolicy(max_tokens=10, overlap_tokens=3)

    spans = chunk_text(text, policy, words)

    assert chunks(text, policy) == ["Aa bb cc dd ee. Ff gg hh ii jj.", "Kk ll."]
    assert spans[1].start >= spans[0].end


# ----------------------------------------------------------------------------------- offsets
def test_offsets_point_at_the_exact_text_of_each_chunk_even_after_odd_white_space() -> None:
    text = (
        "\n\n  Première phrase, été.\u00a0 Second one?\n\n\tThird\none!  "
        '"Fourth."   Fifth sentence now.\r\n'
    )
    policy = ChunkingPolicy(max_tokens=8, overlap_tokens=2)

    spans = chunk_text(text, policy, words)

    assert [text[s.start : s.end] for s in spans] == [
        'Première phrase, été.\u00a0 Second one?\n\n\tThird\none!  "Fourth."',
        '"Fourth."   Fifth sentence now.',
    ]
    assert spans[0].start == text.index("Première")
    assert spans[1].end == len(text) - 2
    assert_invariants(text, policy, spans)


# ------------------------------------------------------------------------------------ policy
@pytest.mark.parametrize(
    ("max_tokens", "overlap_tokens"),
    [(7, 0), (0, 0), (-8, 0), (8, -1), (8, 4), (100, 50), (100, 60)],
)
def test_a_policy_out_of_bounds_is_refused(max_tokens: int, overlap_tokens: int) -> None:
    with pytest.raises(ValueError, match="tokens"):
        ChunkingPolicy(max_tokens=max_tokens, overlap_tokens=overlap_tokens)


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), [(8, 0), (8, 3), (100, 49)])
def test_a_policy_at_its_bounds_is_accepted(max_tokens: int, overlap_tokens: int) -> None:
    policy = ChunkingPolicy(max_tokens=max_tokens, overlap_tokens=overlap_tokens)
    assert (policy.max_tokens, policy.overlap_tokens) == (max_tokens, overlap_tokens)


# ------------------------------------------------------------------------------- properties
_WORD = st.text(alphabet="abcXYZé0123456789-'", min_size=1, max_size=8)
_PUNCTUATION = st.sampled_from(["", "", "", ".", "?", "!", "...", '."', ".)", "?']", ",", ";"])
_SPACE = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", "\t", " \n \n", "\u00a0", "\r\n"])


@st.composite
def texts(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(st.tuples(_WORD, _PUNCTUATION, _SPACE), max_size=120))
    lead = draw(st.sampled_from(["", " ", "\n\n", "\t "]))
    return lead + "".join(word + mark + space for word, mark, space in tokens)


@st.composite
def policies(draw: st.DrawFn) -> ChunkingPolicy:
    max_tokens = draw(st.integers(min_value=8, max_value=40))
    overlap = draw(st.integers(min_value=0, max_value=max_tokens // 2 - 1))
    return ChunkingPolicy(max_tokens=max_tokens, overlap_tokens=overlap)


@settings(max_examples=300, deadline=None)
@given(text=texts(), policy=policies())
def test_any_text_is_chunked_within_budget_in_order_and_without_losing_a_character(
    text: str, policy: ChunkingPolicy
) -> None:
    spans = chunk_text(text, policy, words)

    assert_invariants(text, policy, spans)
    assert (spans == []) == (text.strip() == "")


@settings(max_examples=200, deadline=None)
@given(text=texts())
def test_sentences_are_trimmed_in_order_and_cover_the_text(text: str) -> None:
    spans = sentence_spans(text)

    for before, after in pairwise(spans):
        assert before.end < after.start
    for span in spans:
        piece = text[span.start : span.end]
        assert piece
        assert piece == piece.strip()
    kept = "".join(text[span.start : span.end] for span in spans)
    assert "".join(kept.split()) == "".join(text.split())
