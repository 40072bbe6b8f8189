"""E-mail addresses are normalised so that uniqueness ignores case and surrounding blanks."""

from __future__ import annotations

import pytest

from app.domain.errors import InvalidValueError
from app.domain.value_objects.email import EMAIL_MAX_LENGTH, normalize_email


@pytest.mark.parametrize(
    "raw",
    ["alice@example.com", "ALICE@EXAMPLE.COM", "  Alice@Example.com\t", "alice@EXAMPLE.com"],
)
def test_normalises_to_one_lower_case_form(raw: str) -> None:
    assert normalize_email(raw) == "alice@example.com"


def test_addresses_differing_only_in_case_normalise_alike() -> None:
    assert normalize_email("Bob.Smith@Mail.Example.org") == normalize_email(
        "bob.smith@mail.example.ORG"
    )


def test_keeps_plus_tags_and_dots_of_the_local_part() -> None:
    assert normalize_email("a.b+news@example.com") == "a.b+news@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "alice",
        "alice@",
        "@example.com",
        "alice@example",
        "alice@@example.com",
        "alice example@example.com",
        "alice@exa mple.com",
    ],
)
def test_refuses_a_malformed_address(raw: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        normalize_email(raw)

    assert caught.value.field == "email"


def test_refuses_an_address_longer_than_the_maximum() -> None:
    too_long = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com"
    assert len(too_long) > EMAIL_MAX_LENGTH

    with pytest.raises(InvalidValueError):
        normalize_email(too_long)


def test_names_the_field_it_was_given() -> None:
    with pytest.raises(InvalidValueError) as caught:
        normalize_email("nope", field="first_admin_email")

    assert caught.value.field == "first_admin_email"
