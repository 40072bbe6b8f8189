"""Every knob of Strata, read from the environment and `.env` (see `.env.example`).

Settings are built once at start-up and handed to `create_app(settings)`; nothing reads them at import.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Self

from limits import parse_many
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.core.files import write_private_file

MIN_SECRET_KEY_LENGTH = 32
# Values that have been published somewhere (docs, examples) and so are no secret at all.
KNOWN_DEFAULT_SECRETS = frozenset({"changethis", "change-me", "secret", "dev", "development"})
DEFAULT_CATEGORIES = ("electronics", "books", "clothing")
RATE_LIMIT_NAMES = ("login_account", "login_ip", "register_ip", "forgot_ip", "mfa", "api")


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
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_nested_delimiter="__",
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
    # The request head, bounded by the server `strata serve` starts (431 beyond): bytes of one
    # header line (and of the request line: 414), bytes of all headers, number of headers.
    max_header_line_bytes: int = Field(default=16_384, ge=1024, le=1_048_576)
    max_header_bytes: int = Field(default=65_536, ge=4096, le=4_194_304)
    max_header_count: int = Field(default=100, ge=16, le=10_000)
    log_level: str = "INFO"
    seed_demo: bool = True
    # Settings a feature declares for itself (`Feature.settings`), by feature key:
    # FEATURES__<KEY>__<NAME>=value. Each feature validates its own part when the app starts.
    features: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # The product feature's settings. CATALOG_* are their names before features had one key
    # everywhere, still read so that an existing deployment keeps its configuration.
    product_categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES),
        validation_alias=AliasChoices("product_categories", "catalog_categories"),
    )
    # Product reads are cached in each process for this long; a write empties the cache of the
    # process that made it at once, other processes' within this time. 0 turns the cache off.
    product_cache_ttl_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3_600,
        validation_alias=AliasChoices("product_cache_ttl_seconds", "catalog_cache_ttl_seconds"),
    )
    product_cache_max_entries: int = Field(
        default=10_000,
        ge=1,
        validation_alias=AliasChoices("product_cache_max_entries", "catalog_cache_max_entries"),
    )
    # Where development keeps what it generates for itself (secret key, first-admin password, SQLite).
    var_dir: Path = Path("./var")
    # Argon2id cost: OWASP's minimum is 19 MiB and 2 passes; raise, never lower, in production.
    password_hash_memory_kib: int = Field(default=19_456, ge=8)
    password_hash_iterations: int = Field(default=2, ge=1)
    # Hashes computed at once; more only queue inside the hasher instead of starving other requests.
    password_hash_concurrency: int = Field(default=2, ge=1)

    # --- Identity: sessions, e-mail, MFA
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=60)
    max_sessions_per_user: int = Field(default=10, ge=1, le=1_000)
    # Where links in e-mails (verification, password reset) point: the client application.
    public_base_url: str = "http://127.0.0.1:8006"
    totp_issuer: str = "Strata"
    # Mail: SMTP when SMTP_HOST is set, else `.eml` files under MAIL_DIR (development).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Strata <no-reply@localhost>"
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_dir: Path = Path("./var/mail")

    # --- Rate limits, in the `limits` string format ("5/minute;20/hour"); Redis when REDIS_URL is set.
    rate_limit_enabled: bool = True
    rate_limit_login_account: str = "5/minute;20/hour"
    rate_limit_login_ip: str = "20/minute;200/hour"
    rate_limit_register_ip: str = "5/minute;30/hour"
    rate_limit_forgot_ip: str = "5/minute;20/hour"
    rate_limit_mfa: str = "5/minute;20/hour"
    rate_limit_api: str = "600/minute"
    # X-Forwarded-For is believed only from these addresses or networks (reverse proxies).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # /metrics wants `Authorization: Bearer <METRICS_TOKEN>`; unset, only loopback clients read it.
    metrics_token: SecretStr | None = None

    # --- Resources and files
    max_upload_bytes: int = Field(default=25 * 1_048_576, ge=1)
    storage_dir: Path = Path("./var/files")
    # Master key(s) wrapping each file's data key (and sealing TOTP secrets): base64 of 32 bytes, or
    # "id:base64,id:base64,..." to rotate (the first one encrypts, all of them decrypt).
    file_encryption_key: SecretStr | None = None

    # --- Payments (Stripe). Without STRIPE_SECRET_KEY the payment endpoints answer 503; the rest runs.
    stripe_secret_key: SecretStr | None = None
    # The endpoint's signing secret(s), `whsec_...`; comma-separated while rolling one.
    stripe_webhook_secret: SecretStr | None = None
    stripe_default_currency: str = "usd"
    stripe_api_base: str = "https://api.stripe.com"
    stripe_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    stripe_read_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # Retries after the first attempt, on network errors, 429 and 5xx only.
    stripe_max_retries: int = Field(default=2, ge=0, le=10)
    stripe_retry_base_delay_seconds: float = Field(default=0.25, ge=0, le=10)
    stripe_retry_max_delay_seconds: float = Field(default=2.0, ge=0, le=60)
    # Consecutive failed calls that open the circuit, and how long it then stays open.
    stripe_breaker_failure_threshold: int = Field(default=5, ge=1, le=1_000)
    stripe_breaker_cooldown_seconds: float = Field(default=30.0, gt=0, le=3_600)

    @field_validator("cors_origins", "product_categories", "trusted_proxies", mode="before")
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return _comma_separated(value)

    @field_validator("product_categories")
    @classmethod
    def _normalise_categories(cls, value: list[str]) -> list[str]:
        categories = list(dict.fromkeys(item.strip().lower() for item in value if item.strip()))
        if not categories:
            raise ValueError("PRODUCT_CATEGORIES needs at least one category")
        return categories

    @field_validator("stripe_default_currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        # The full ISO 4217 list is the domain's (core imports no layer): the use case checks it.
        code = value.strip().upper()
        if not (len(code) == 3 and code.isascii() and code.isalpha()):
            raise ValueError(f"STRIPE_DEFAULT_CURRENCY: {value!r} is not an ISO 4217 currency code")
        return code

    @field_validator("stripe_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"STRIPE_API_BASE: {value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _upper_log_level(cls, value: str) -> str:
        return value.upper()

    @field_validator(*(f"rate_limit_{name}" for name in RATE_LIMIT_NAMES))
    @classmethod
    def _check_rate_limit(cls, value: str, info: ValidationInfo) -> str:
        setting = (info.field_name or "rate_limit").upper()
        try:
            windows = parse_many(value)
        except ValueError as exc:
            raise ValueError(
                f"{setting}: {value!r} is not a rate limit like '5/minute;20/hour'"
            ) from exc
        if any(window.amount < 1 for window in windows):
            raise ValueError(f"{setting}: {value!r} allows no request; every amount must be >= 1")
        return value

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
        if self.file_encryption_key is None or not self.file_encryption_key.get_secret_value():
            raise ValueError(
                "FILE_ENCRYPTION_KEY must be set in production "
                "(generate one: python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())')"
            )
        return self

    @property
    def rate_limits(self) -> dict[str, str]:
        """Each rate limit by name (`login_ip`, `api`, ...): the setting RATE_LIMIT_<NAME>."""
        return {name: getattr(self, f"rate_limit_{name}") for name in RATE_LIMIT_NAMES}

    @property
    def stripe_webhook_secrets(self) -> list[str]:
        raw = self.stripe_webhook_secret.get_secret_value() if self.stripe_webhook_secret else ""
        return [secret.strip() for secret in raw.split(",") if secret.strip()]

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

    @cached_property
    def encryption_keys(self) -> str:
        """FILE_ENCRYPTION_KEY, or in development a key generated once and kept in VAR_DIR.

        Tests without it get a random per-process key.
        """
        if self.file_encryption_key is not None and self.file_encryption_key.get_secret_value():
            return self.file_encryption_key.get_secret_value()
        if self.environment is Environment.DEVELOPMENT:
            return _load_or_create_secret(self.var_dir / "file_encryption_key", _new_aes_key)
        return _new_aes_key()


def _new_aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _load_or_create_secret(path: Path, generate: Callable[[], str] | None = None) -> str:
    if path.exists():
        stored = path.read_text(encoding="utf-8").strip()
        if len(stored) >= MIN_SECRET_KEY_LENGTH:
            return stored
    key = generate() if generate else secrets.token_urlsafe(48)
    write_private_file(path, key)
    return key
