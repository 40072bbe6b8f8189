"""The one text rule (issue 9, item 6): no control character and no surrogate in any text a user
sends; line breaks and tabs only in long free text. Every entity that stores user text obeys it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from app.domain.entities.payment import Payment, PaymentStatus
from app.domain.entities.product import ProductChanges
from app.domain.entities.resource import Resource, ResourceChanges
from app.domain.errors import InvalidValueError
from app.domain.value_objects.identifiers import new_id
from app.domain.value_objects.text import (
    MULTI_LINE_PATTERN,
    NON_BLANK_LINE_PATTERN,
    SINGLE_LINE_PATTERN,
    TRIMMED_WHITESPACE,
    UNTRIMMED_LINE_PATTERN,
    reject_control_characters,
    trim,
)
from tests.builders import make_product, make_resource, make_user
from tests.fakes import CATEGORIES, DEFAULT_NOW

LAYOUT = "\n\r\t"
# Every control character (C0, DEL, C1) and a sample of surrogates.
CONTROLS = [chr(code) for code in (*range(0x20), *range(0x7F, 0xA0))]
REFUSED_ANYWHERE = [c for c in CONTROLS if c not in LAYOUT] + ["\ud800", "\udfff"]
refused_anywhere = st.sampled_from(REFUSED_ANYWHERE)
refused_in_a_line = st.sampled_from([*REFUSED_ANYWHERE, *LAYOUT])
# Text without any refused character (hypothesis leaves out surrogates by default).
# (Square brackets are left out: payment metadata keys refuse them, as the provider does.)
clean = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="[]"), max_size=30
).map(str.strip)


def _is_refused(character: str, *, multiline: bool) -> bool:
    return unicodedata.category(character) in ("Cc", "Cs") and not (
        multiline and character in LAYOUT
    )


@given(st.text(), st.booleans())
def test_the_rule_refuses_exactly_controls_and_surrogates(text: str, multiline: bool) -> None:
    refused = any(_is_refused(character, multiline=multiline) for character in text)
    if refused:
        with pytest.raises(ValueError, match="control characters"):
            reject_control_characters(text, allow_layout=multiline)
    else:
        assert reject_control_characters(text, allow_layout=multiline) == text


edges = st.text(st.sampled_from(TRIMMED_WHITESPACE + "\x1c\x1f\x00"), max_size=3)


@given(edges, st.text(st.characters(blacklist_categories=("Cs",))), edges, st.booleans())
def test_the_published_patterns_say_the_same_as_the_rule(
    before: str, text: str, after: str, multiline: bool
) -> None:
    """Trimmed first (as bodies are), then judged; the untrimmed pattern judges text as sent."""
    sent = before + text + after
    pattern = MULTI_LINE_PATTERN if multiline else SINGLE_LINE_PATTERN
    kept = trim(sent)
    accepted = not any(_is_refused(character, multiline=multiline) for character in kept)
    assert (re.fullmatch(pattern, sent) is not None) is accepted
    as_sent = not any(_is_refused(character, multiline=False) for character in sent)
    assert (re.fullmatch(UNTRIMMED_LINE_PATTERN, sent) is not None) is as_sent
    if not multiline:
        non_blank = accepted and kept != ""
        assert (re.fullmatch(NON_BLANK_LINE_PATTERN, sent) is not None) is non_blank


def test_trimming_is_pydantics() -> None:
    """`trim` takes what `str_strip_whitespace` takes, and leaves the controls \x1c-\x1f."""

    class Trimmed(BaseModel):
        model_config = ConfigDict(str_strip_whitespace=True)
        value: str

    for code in range(0x3001):
        text = f"{chr(code)}x{chr(code)}"
        assert trim(text) == Trimmed(value=text).value, hex(code)


def _resource(text: str, field: str) -> object:
    return make_resource(**{field: text})


def _resource_changed(text: str, field: str) -> object:
    resource = _resource("Notes", "name")
    assert isinstance(resource, Resource)
    return resource.apply(ResourceChanges(**{field: text}), now=DEFAULT_NOW)


def _product(text: str, field: str) -> object:
    return make_product(**{field: text})


def _product_changed(text: str, field: str) -> object:
    return make_product().apply(
        ProductChanges(**{field: text}), now=DEFAULT_NOW, categories=frozenset(CATEGORIES)
    )


def _user(text: str, field: str) -> object:
    return make_user(**{field: text})


def _user_changed(text: str, field: str) -> object:
    return make_user().changed(DEFAULT_NOW, **{field: text})


def _payment(text: str, field: str) -> object:
    metadata = {f"key{text}": "value"} if field == "metadata key" else {"key": f"value{text}"}
    return Payment.record(
        payment_id=new_id(),
        user_id=new_id(),
        provider_id="pi_1",
        amount_cents=1_999,
        currency="USD",
        status=PaymentStatus.REQUIRES_PAYMENT_METHOD,
        metadata=metadata,
        product_id=None,
        sealed_client_secret=None,
        now=DEFAULT_NOW,
    )


Builder = Callable[[str, str], object]
# (builder, field, multi-line?) for every text a user can have stored.
TEXT_FIELDS: list[tuple[Builder, str, bool]] = [
    (_resource, "name", False),
    (_resource, "description", True),
    (_resource_changed, "name", False),
    (_resource_changed, "description", True),
    (_product, "name", False),
    (_product, "description", True),
    (_product_changed, "name", False),
    (_product_changed, "description", True),
    (_user, "full_name", False),
    (_user_changed, "full_name", False),
    (_payment, "metadata key", False),
    (_payment, "metadata value", False),
]
FIELD_IDS = [f"{builder.__name__.lstrip('_')}.{field}" for builder, field, _ in TEXT_FIELDS]


@pytest.mark.parametrize(("builder", "field", "multiline"), TEXT_FIELDS, ids=FIELD_IDS)
@given(before=clean, character=st.data(), after=clean)
def test_every_stored_text_refuses_a_control_character_anywhere(
    builder: Builder,
    field: str,
    multiline: bool,
    before: str,
    character: st.DataObject,
    after: str,
) -> None:
    bad = character.draw(refused_anywhere if multiline else refused_in_a_line)
    # Inside the text: at either end, white space (\x85 is both) would be trimmed away first.
    text = f"x{before[:12]}{bad}{after[:12]}x"
    with pytest.raises(InvalidValueError) as caught:
        builder(text, field)
    assert caught.value.field == field.split(maxsplit=1)[0]


@pytest.mark.parametrize(("builder", "field", "multiline"), TEXT_FIELDS, ids=FIELD_IDS)
@given(text=clean)
def test_every_stored_text_accepts_clean_text(
    builder: Builder, field: str, multiline: bool, text: str
) -> None:
    builder(f"x{text}"[:30], field)


@pytest.mark.parametrize(
    ("builder", "field"), [(b, f) for b, f, multiline in TEXT_FIELDS if multiline]
)
def test_long_free_text_keeps_its_line_breaks_and_tabs(builder: Builder, field: str) -> None:
    built = builder("line one\r\n\tline two", field)
    assert getattr(built, field) == "line one\r\n\tline two"
