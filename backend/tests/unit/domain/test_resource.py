"""Resource rules and file-name sanitising."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.entities.resource import (
    FALLBACK_FILENAME,
    FILENAME_MAX_LENGTH,
    ResourceChanges,
    sanitize_filename,
)
from app.domain.errors import InvalidValueError
from tests.builders import make_resource
from tests.fakes import DEFAULT_NOW


def test_a_resource_is_created_trimmed_at_version_one() -> None:
    resource = make_resource(name="  Notes  ")

    assert (resource.name, resource.version) == ("Notes", 1)
    assert resource.created_at == resource.updated_at == DEFAULT_NOW


@pytest.mark.parametrize("name", ["", "   ", "x" * 256, "tab\there", "nul\x00"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        make_resource(name=name)
    assert caught.value.field == "name"


def test_changes_make_the_next_version_and_keep_the_rules() -> None:
    resource = make_resource(name="x" * 255)

    changed = resource.apply(ResourceChanges(description="new"), now=DEFAULT_NOW)

    assert (changed.version, changed.description, changed.name) == (2, "new", "x" * 255)
    with pytest.raises(InvalidValueError):
        resource.apply(ResourceChanges(name=" "), now=DEFAULT_NOW)
    assert ResourceChanges().as_fields() == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\song.mp3", "song.mp3"),
        ("bell\u0007and\u202eevil.txt", "bellandevil.txt"),
        ('quote"s<and>pipes|.txt', "quotesandpipes.txt"),
        ("...hidden", "hidden"),
        ("", FALLBACK_FILENAME),
        (None, FALLBACK_FILENAME),
        ("../", FALLBACK_FILENAME),
        ("e\u0301te\u0301.txt", "\u00e9t\u00e9.txt"),
    ],
)
def test_file_names_are_sanitised(raw: str | None, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_long_names_keep_their_extension() -> None:
    name = sanitize_filename("a" * 400 + ".flac")

    assert len(name) == FILENAME_MAX_LENGTH
    assert name.endswith(".flac")


@given(st.text(max_size=600))
def test_any_name_sanitises_to_something_safe(raw: str) -> None:
    name = sanitize_filename(raw)

    assert 1 <= len(name) <= FILENAME_MAX_LENGTH
    assert "/" not in name
    assert "\\" not in name
    assert not any(ord(char) < 32 or ord(char) == 127 for char in name)
