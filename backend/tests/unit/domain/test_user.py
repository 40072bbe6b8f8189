"""Rules of a user: how an account is registered and who may administer."""

from __future__ import annotations

import pytest

from app.domain.entities.user import FULL_NAME_MAX_LENGTH, Role, User
from app.domain.errors import InvalidValueError
from tests.fakes import DEFAULT_NOW


def register(**overrides: object) -> User:
    values: dict[str, object] = {
        "email": "alice@example.com",
        "password_hash": "hashed:secret",
        "full_name": None,
        "now": DEFAULT_NOW,
        **overrides,
    }
    return User.register(**values)  # type: ignore[arg-type]


def test_register_makes_an_active_user_with_the_user_role() -> None:
    user = register()

    assert user.role is Role.USER
    assert user.is_active
    assert user.version == 1
    assert user.created_at == user.updated_at == DEFAULT_NOW
    assert user.password_hash == "hashed:secret"


def test_register_gives_the_requested_role() -> None:
    assert register(role=Role.ADMIN).role is Role.ADMIN


def test_register_gives_every_user_its_own_id() -> None:
    assert register().id != register().id


@pytest.mark.parametrize(("raw", "stored"), [("  Alice Liddell ", "Alice Liddell"), ("   ", None)])
def test_register_trims_the_full_name_and_drops_a_blank_one(raw: str, stored: str | None) -> None:
    assert register(full_name=raw).full_name == stored


def test_register_refuses_a_full_name_that_is_too_long() -> None:
    assert register(full_name="a" * FULL_NAME_MAX_LENGTH).full_name

    with pytest.raises(InvalidValueError) as caught:
        register(full_name="a" * (FULL_NAME_MAX_LENGTH + 1))

    assert caught.value.field == "full_name"
