"""ETags from versions and the conditional headers If-None-Match / If-Match (RFC 9110)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.presentation.api.v1.http_caching import (
    etag_for,
    if_match_versions,
    matches_if_none_match,
)


@dataclass(frozen=True)
class Versioned:
    version: int


versions = st.integers(min_value=1, max_value=10**18 - 1)


def test_the_etag_is_the_quoted_version() -> None:
    assert etag_for(Versioned(3)) == '"v3"'


@pytest.mark.parametrize(
    "header",
    ['"v3"', 'W/"v3"', '"v1", "v3"', '  "v2" ,W/"v3" ', "*", " * "],
)
def test_if_none_match_is_satisfied_by_the_current_version_weakly_compared(header: str) -> None:
    assert matches_if_none_match(header, '"v3"')


@pytest.mark.parametrize("header", [None, "", '"v2"', '"v30"', "v3", '"v1", W/"v4"', ","])
def test_if_none_match_is_not_satisfied_by_other_versions(header: str | None) -> None:
    assert not matches_if_none_match(header, '"v3"')


def test_if_none_match_ignores_the_weakness_of_the_current_etag() -> None:
    assert matches_if_none_match('"v3"', 'W/"v3"')


@pytest.mark.parametrize("header", [None, "*", "  *  "])
def test_if_match_absent_or_star_accepts_any_version(header: str | None) -> None:
    assert if_match_versions(header) is None


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ('"v3"', {3}),
        ('"v1", "v2"', {1, 2}),
        ('"v3", W/"v4", junk, "x5"', {3}),
        ('W/"v3"', set()),  # weak tags never match a strong comparison
        ("v3", set()),
        ('"v1234567890123456789"', set()),  # longer than any version we issue
        ("", set()),
    ],
)
def test_if_match_accepts_only_the_strong_versions_it_lists(
    header: str, accepted: set[int]
) -> None:
    assert if_match_versions(header) == frozenset(accepted)


@given(versions)
def test_an_etag_we_issued_round_trips_through_both_headers(version: int) -> None:
    etag = etag_for(Versioned(version))

    assert if_match_versions(etag) == frozenset({version})
    assert matches_if_none_match(etag, etag)
    assert not matches_if_none_match(etag_for(Versioned(version + 1)), etag)


@given(st.text())
def test_arbitrary_header_text_never_raises(header: str) -> None:
    accepted = if_match_versions(header)

    assert accepted is None or all(v >= 0 for v in accepted)
    assert isinstance(matches_if_none_match(header, '"v1"'), bool)
