"""Every knob of Strata, read from the environment and `.env` (see `.env.example`).

Settings are built once at start-up and handed to `create_app(settings)`; nothing reads them at import.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.core.files import write_private_file

MIN_SECRET_KEY_LENGTH = 32
# Values that have been published somewhere (docs, examples) and so are no secret at all.
KNOWN_DEFAULT_SECRETS = frozenset({"changethis", "change-me", "secret", "dev", "development"})
DEFAULT_CATEGORIES = ("electronics", "books", "clothing")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def _comma_separated(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    environment: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8006, ge=1, le=65535)
    database_url: str = "sqlite+aiosqlite:///./var/strata.db"
    database_pool_size: int = Field(default=10, ge=1)
    # No overflow by default: under a burst, requests queue for a pooled connection (each holds one
    # only inside a unit of work) instead of opening and closing extra connections.
    database_max_overflow: int = Field(default=0, ge=0)
    database_timeout_seconds: float = Field(default=10.0, gt=0)
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    first_admin_email: str | None = None
    first_admin_password: SecretStr | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    log_level: str = "INFO"
    seed_demo: bool = True
    catalog_categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES)
    )
    # Catalog reads are cached in each process for this long; a write empties the cache of the
    # process that made it at once, other processes' within this time. 0 turns the cache off.
    catalog_cache_ttl_seconds: float = Field(default=5.0, ge=0, le=3_600)
    catalog_cache_max_entries: int = Field(default=10_000, ge=1)
    # Where development keeps what it generates for itself (secret key, first-admin password, SQLite).
    var_dir: Path = Path("./var")
    # Argon2id cost: OWASP's minimum is 19 MiB and 2 passes; raise, never lower, in production.
    password_hash_memory_kib: int = Field(default=19_456, ge=8)
    password_hash_iterations: int = Field(default=2, ge=1)
    # Hashes computed at once; more only queue inside the hasher instead of starving other requests.
    password_hash_concurrency: int = Field(default=2, ge=1)

    @field_validator("cors_origins", "catalog_categories", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return _comma_separated(value)

    @field_validator("catalog_categories")
    @classmethod
    def _normalise_categories(cls, value: list[str]) -> list[str]:
        categories = list(dict.fromkeys(item.strip().lower() for item in value if item.strip()))
        if not categories:
            raise ValueError("CATALOG_CATEGORIES needs at least one category")
        return categories

    @field_validator("log_level")
    @classmethod
    def _upper_log_level(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.environment is not Environment.PRODUCTION:
            return self
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if not key:
            raise ValueError(
                "SECRET_KEY must be set in production (generate one: openssl rand -hex 32)"
            )
        if key.lower() in KNOWN_DEFAULT_SECRETS:
            raise ValueError(
                "SECRET_KEY is a published default value; set a random one in production"
            )
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters in production"
            )
        if "*" in self.cors_origins:
            raise ValueError("CORS_ORIGINS must list origins in production, not '*'")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def signing_key(self) -> str:
        """The JWT signing key: SECRET_KEY, or in development one generated once and kept in VAR_DIR.

        Tests without SECRET_KEY get a random per-process key, so nothing leaks between runs.
        """
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        if self.environment is Environment.DEVELOPMENT:
            return _load_or_create_secret(self.var_dir / "secret_key")
        return secrets.token_urlsafe(48)


def _load_or_create_secret(path: Path) -> str:
    if path.exists():
        stored = path.read_text(encoding="utf-8").strip()
        if len(stored) >= MIN_SECRET_KEY_LENGTH:
            return stored
    key = secrets.token_urlsafe(48)
    write_private_file(path, key)
    return key
