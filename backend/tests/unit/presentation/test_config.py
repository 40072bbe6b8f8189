"""Settings: refuse unsafe production secrets, keep a development secret, parse list knobs."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.core.config import MIN_SECRET_KEY_LENGTH, Environment, Settings

GOOD_SECRET = "k" * 20 + "0123456789abcdef"  # 36 characters, no published default
GOOD_FILE_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 bytes


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No knob of the developer's shell or CI may leak into these settings."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def production_error(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        settings(environment="production", **values)
    return str(caught.value)


# ---------------------------------------------------------------- production secrets


def test_production_refuses_a_missing_secret_key_and_says_how_to_make_one() -> None:
    message = production_error()

    assert "SECRET_KEY must be set in production" in message
    assert "openssl rand -hex 32" in message


def test_production_refuses_an_empty_secret_key() -> None:
    assert "SECRET_KEY must be set in production" in production_error(secret_key="")


@pytest.mark.parametrize("secret", ["changethis", "CHANGE-ME", "secret", "Development"])
def test_production_refuses_a_published_default_secret_key(secret: str) -> None:
    assert "published default" in production_error(secret_key=secret)


def test_production_refuses_a_short_secret_key() -> None:
    message = production_error(secret_key="x" * (MIN_SECRET_KEY_LENGTH - 1))

    assert f"at least {MIN_SECRET_KEY_LENGTH} characters" in message


def test_production_refuses_a_wildcard_cors_origin() -> None:
    message = production_error(
        secret_key=GOOD_SECRET,
        file_encryption_key=GOOD_FILE_KEY,
        cors_origins="https://a.example,*",
    )

    assert "CORS_ORIGINS" in message


def test_production_refuses_a_missing_file_encryption_key_and_says_how_to_make_one() -> None:
    message = production_error(secret_key=GOOD_SECRET)

    assert "FILE_ENCRYPTION_KEY must be set in production" in message
    assert "os.urandom(32)" in message


def test_production_signs_with_its_secret_key(tmp_path: Path) -> None:
    production = settings(
        environment="production",
        secret_key=GOOD_SECRET,
        file_encryption_key=GOOD_FILE_KEY,
        var_dir=tmp_path,
    )

    assert production.signing_key == GOOD_SECRET
    assert production.encryption_keys == GOOD_FILE_KEY
    assert list(tmp_path.iterdir()) == []


def test_production_reads_the_secret_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("FILE_ENCRYPTION_KEY", GOOD_FILE_KEY)

    assert settings().signing_key == GOOD_SECRET


# ---------------------------------------------------------------- development secret


def test_development_generates_a_file_encryption_key_once_and_reuses_it(tmp_path: Path) -> None:
    first = settings(var_dir=tmp_path / "var").encryption_keys
    second = settings(var_dir=tmp_path / "var").encryption_keys

    assert first == second
    assert len(base64.b64decode(first)) == 32
    key_file = tmp_path / "var" / "file_encryption_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_tests_get_a_random_file_encryption_key_and_write_nothing(tmp_path: Path) -> None:
    first = settings(environment="test", var_dir=tmp_path).encryption_keys
    second = settings(environment="test", var_dir=tmp_path).encryption_keys

    assert first != second
    assert list(tmp_path.iterdir()) == []


def test_development_generates_a_secret_once_and_reuses_it(tmp_path: Path) -> None:
    first = settings(var_dir=tmp_path / "var").signing_key
    second = settings(var_dir=tmp_path / "var").signing_key

    assert first == second
    assert len(first) >= MIN_SECRET_KEY_LENGTH
    assert (tmp_path / "var" / "secret_key").read_text(encoding="utf-8") == first


def test_development_keeps_its_secret_readable_by_the_owner_only(tmp_path: Path) -> None:
    assert settings(var_dir=tmp_path).signing_key

    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode & (stat.S_IRWXG | stat.S_IRWXO) == 0


def test_development_secrets_differ_between_var_dirs(tmp_path: Path) -> None:
    assert (
        settings(var_dir=tmp_path / "a").signing_key != settings(var_dir=tmp_path / "b").signing_key
    )


def test_development_regenerates_a_secret_file_left_empty(tmp_path: Path) -> None:
    # A crash between creating the file and writing it leaves it empty; an empty HMAC key would
    # let anyone forge tokens, so an empty (or short) stored secret must not be used.
    (tmp_path / "secret_key").touch(mode=0o600)

    assert len(settings(var_dir=tmp_path).signing_key) >= MIN_SECRET_KEY_LENGTH


def test_development_uses_a_given_secret_key_and_writes_no_file(tmp_path: Path) -> None:
    development = settings(secret_key=GOOD_SECRET, var_dir=tmp_path)

    assert development.signing_key == GOOD_SECRET
    assert list(tmp_path.iterdir()) == []


def test_tests_without_a_secret_key_get_a_fresh_one_and_write_no_file(tmp_path: Path) -> None:
    first = settings(environment="test", var_dir=tmp_path).signing_key
    second = settings(environment="test", var_dir=tmp_path).signing_key

    assert first != second
    assert len(first) >= MIN_SECRET_KEY_LENGTH
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- list knobs


def test_cors_origins_are_read_comma_separated_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", " https://a.example, https://b.example:8443 ,, ")

    assert settings().cors_origins == ["https://a.example", "https://b.example:8443"]


def test_cors_origins_default_to_none() -> None:
    assert settings().cors_origins == []


def test_product_categories_are_trimmed_lower_cased_and_deduplicated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRODUCT_CATEGORIES", " Books, ELECTRONICS ,books,, garden ")

    assert settings().product_categories == ["books", "electronics", "garden"]


def test_the_catalog_names_of_the_product_settings_are_still_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CATALOG_CATEGORIES", "toys")
    monkeypatch.setenv("CATALOG_CACHE_TTL_SECONDS", "0")
    monkeypatch.setenv("CATALOG_CACHE_MAX_ENTRIES", "7")
    loaded = settings()
    assert loaded.product_categories == ["toys"]
    assert loaded.product_cache_ttl_seconds == 0
    assert loaded.product_cache_max_entries == 7


def test_product_categories_accept_a_list() -> None:
    assert settings(product_categories=["Toys", " toys "]).product_categories == ["toys"]


def test_product_categories_default_to_the_demo_catalog() -> None:
    assert settings().product_categories == ["electronics", "books", "clothing"]


@pytest.mark.parametrize("value", ["", " , ,", []])
def test_product_categories_refuse_an_empty_list(value: object) -> None:
    with pytest.raises(ValidationError, match="PRODUCT_CATEGORIES needs at least one category"):
        settings(product_categories=value)


# ---------------------------------------------------------------- other knobs


def test_log_level_is_upper_cased() -> None:
    assert settings(log_level="debug").log_level == "DEBUG"


def test_defaults_describe_an_embedded_development_setup() -> None:
    default = settings()

    assert default.environment is Environment.DEVELOPMENT
    assert default.is_development
    assert default.is_sqlite
    assert not settings(database_url="postgresql+asyncpg://db/strata").is_sqlite


@pytest.mark.parametrize(("knob", "value"), [("port", 0), ("access_token_ttl_seconds", 5)])
def test_refuses_out_of_range_knobs(knob: str, value: int) -> None:
    with pytest.raises(ValidationError, match=knob):
        settings(**{knob: value})


def test_a_features_own_settings_come_from_features_key_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEATURES__NOTE__MAX_LENGTH", "5")
    assert settings().features == {"note": {"max_length": "5"}}
