"""The composition root: which adapter serves which port. Built once per app, in its lifespan, and
by the CLI; the HTTP dependencies, start-up and commands all take what they need from here.

It builds what every feature shares (database, clock, password hashing, tokens, access policy, ...)
and then each registered feature's own providers (a product cache, a payment gateway), which the
feature's code reads back with a typed key: `container.get(PRODUCT_CACHE)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pydantic import BaseModel, ValidationError

from app.application.idempotency import IdempotencyKeys
from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import TotpAuthenticator
from app.application.interfaces.events import EventPublisher, EventsUnitOfWork
from app.application.interfaces.security import (
    AccessTokenService,
    MfaTokenService,
    PasswordHasher,
    SecretBox,
)
from app.application.interfaces.session import TokenDenyList
from app.application.services.credentials.password_policy import PasswordPolicy
from app.application.services.credentials.second_factor import SecondFactor
from app.application.services.events import OutboxRelay
from app.application.services.session import SessionPolicy, SessionTokens
from app.core.config import Settings
from app.infrastructure.adapters.access_policy import CasbinAccessPolicy
from app.infrastructure.adapters.clock import SystemClock
from app.infrastructure.adapters.encryption import AesGcmSecretBox, MasterKeyRing
from app.infrastructure.adapters.event_publisher import EventFanOut, InProcessEventPublisher
from app.infrastructure.adapters.event_statistics import EventStatistics
from app.infrastructure.adapters.jwt_tokens import JwtTokenService
from app.infrastructure.adapters.password_hasher import Argon2PasswordHasher
from app.infrastructure.adapters.password_strength import ZxcvbnPasswordStrengthChecker
from app.infrastructure.adapters.rate_limiter import LimitsRateLimiter
from app.infrastructure.adapters.redis_event_stream import RedisStreamEventPublisher
from app.infrastructure.adapters.token_deny_list import InProcessTokenDenyList, RedisTokenDenyList
from app.infrastructure.adapters.totp import PyotpAuthenticator
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.unit_of_work import SqlAlchemyUnitOfWork
from app.presentation.api.client_ip import IPNetwork, parse_trusted_proxies

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from app.presentation.features.registry import FeatureSet

T = TypeVar("T")
SettingsT = TypeVar("SettingsT", bound=BaseModel)


class FeatureSettingsError(ValueError):
    """A feature's settings (FEATURES__<KEY>__...) are not valid: the app does not start."""


class ProviderKey(Generic[T]):
    """A typed name for a feature's provider: `container.get(key)` is typed as `T` under mypy."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ProviderKey({self.name!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Provider(Generic[T]):
    """How the composition root builds one feature provider, and releases it at shutdown."""

    key: ProviderKey[T]
    build: Callable[[Container], T]
    close: Callable[[T], Awaitable[None]] | None = None


@dataclass(slots=True, kw_only=True)
class Container:
    """What every feature shares, typed by its port where the app asks no more of it; each
    feature's own providers, settings and units of work are asked for by key or Protocol."""

    settings: Settings
    features: FeatureSet
    database: Database
    redis: Redis | None
    clock: Clock
    password_hasher: PasswordHasher
    access_tokens: AccessTokenService
    mfa_tokens: MfaTokenService  # the same JWT service as access_tokens, by its other port
    token_deny_list: TokenDenyList
    session_tokens: SessionTokens
    password_policy: PasswordPolicy
    second_factor: SecondFactor
    totp: TotpAuthenticator
    key_ring: MasterKeyRing  # the master keys that wrap every data key (secrets, stored files)
    secret_box: SecretBox
    trusted_proxies: tuple[IPNetwork, ...]
    # These three are their adapters: start-up warms the policy and subscribes event handlers, and
    # the HTTP rate-limit dependencies (presentation only) have no port to go through.
    rate_limiter: LimitsRateLimiter
    access_policy: CasbinAccessPolicy
    event_publisher: InProcessEventPublisher
    # Handlers that run in the process that relays the event, whatever the mode: sending the id
    # of a committed job to the job engine.
    local_event_handlers: InProcessEventPublisher
    # Handlers every process runs for every event (emptying its own caches). Distributed, each
    # process follows the event stream for them; embedded, there is one process, whose use
    # cases empty its caches themselves.
    broadcast_handlers: InProcessEventPublisher
    idempotency_keys: IdempotencyKeys  # for any use case a client may retry with a key
    # Hands committed events from the outbox to the handlers of `event_publisher`.
    event_relay: OutboxRelay = field(init=False)
    event_statistics: EventStatistics = field(default_factory=EventStatistics)
    # What `/health/ready` checks beyond the database and Redis, by the name it reports: each
    # feature adds its own (the job engine).
    readiness_checks: dict[str, Callable[[], Awaitable[object]]] = field(default_factory=dict)
    _feature_settings: dict[type[BaseModel], BaseModel] = field(default_factory=dict)
    _provided: dict[str, Any] = field(default_factory=dict)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, features: FeatureSet) -> Container:
        container = cls._shared(settings, features)
        # Embedded, the relay calls the handlers here; distributed, it appends to the Redis
        # Stream, and workers call them (`presentation/worker.py`).
        handlers: EventPublisher = (
            RedisStreamEventPublisher(container.redis)
            if container.redis is not None
            else container.event_publisher
        )
        container.event_relay = OutboxRelay(
            lambda: container.unit_of_work(EventsUnitOfWork),
            EventFanOut(container.local_event_handlers, handlers),
            container.clock,
            container.event_statistics,
        )
        container.event_publisher.observe(container.event_statistics)
        container.local_event_handlers.observe(container.event_statistics)
        for feature in features:
            if feature.settings is not None:
                container._read_settings(feature.key, feature.settings)
        for feature in features:
            for provider in feature.providers:
                container._provide(provider)
        for feature in features:
            if feature.on_start is not None:
                feature.on_start(container)
        return container

    @classmethod
    def _shared(cls, settings: Settings, features: FeatureSet) -> Container:
        database = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_timeout_seconds,
        )
        redis = _redis_client(settings.redis_url) if settings.redis_url else None
        clock = SystemClock()
        totp = PyotpAuthenticator(settings.totp_issuer)
        key_ring = MasterKeyRing.from_setting(settings.encryption_keys)
        secret_box = AesGcmSecretBox(key_ring)
        tokens = JwtTokenService(
            signing_key=settings.signing_key,
            ttl_seconds=settings.access_token_ttl_seconds,
            clock=clock,
        )
        session_policy = SessionPolicy(
            refresh_token_lifetime=timedelta(seconds=settings.refresh_token_ttl_seconds),
            max_sessions_per_user=settings.max_sessions_per_user,
        )
        return cls(
            settings=settings,
            features=features,
            database=database,
            redis=redis,
            clock=clock,
            password_hasher=Argon2PasswordHasher(
                memory_kib=settings.password_hash_memory_kib,
                iterations=settings.password_hash_iterations,
                concurrency=settings.password_hash_concurrency,
            ),
            access_tokens=tokens,
            mfa_tokens=tokens,
            # Logouts must reach every API process: in Redis when there is one.
            token_deny_list=(
                RedisTokenDenyList(redis, clock) if redis else InProcessTokenDenyList(clock)
            ),
            session_tokens=SessionTokens(tokens, clock, session_policy),
            password_policy=PasswordPolicy(ZxcvbnPasswordStrengthChecker()),
            second_factor=SecondFactor(totp, secret_box, clock),
            totp=totp,
            key_ring=key_ring,
            secret_box=secret_box,
            trusted_proxies=parse_trusted_proxies(settings.trusted_proxies),
            rate_limiter=LimitsRateLimiter.build(
                settings.rate_limits,
                enabled=settings.rate_limit_enabled,
                redis_url=settings.redis_url,
                redis=redis,
            ),
            access_policy=CasbinAccessPolicy(database.read_engine),
            event_publisher=InProcessEventPublisher(),
            local_event_handlers=InProcessEventPublisher(),
            broadcast_handlers=InProcessEventPublisher(),
            idempotency_keys=IdempotencyKeys(secret_box),
        )

    def _read_settings(self, key: str, model: type[BaseModel]) -> None:
        try:
            self._feature_settings[model] = model.model_validate(
                self.settings.features.get(key, {})
            )
        except ValidationError as error:
            raise FeatureSettingsError(f"FEATURES__{key.upper()}__…: {error}") from None

    def settings_of(self, model: type[SettingsT]) -> SettingsT:
        """The validated settings of the feature that declared `model`."""
        return cast(SettingsT, self._feature_settings[model])

    def _provide(self, provider: Provider[Any]) -> None:
        if provider.key.name in self._provided:
            raise RuntimeError(f"{provider.key} is provided twice")
        value = provider.build(self)
        self._provided[provider.key.name] = value
        if provider.close is not None:
            close = provider.close
            self._closers.append(lambda: close(value))

    def get(self, key: ProviderKey[T]) -> T:
        """The feature provider registered under `key`."""
        try:
            return cast(T, self._provided[key.name])
        except KeyError:
            raise LookupError(f"no feature provides {key}") from None

    # Units of work, each exposing only the repositories its unit-of-work Protocols name.
    def unit_of_work(self, *needs: type) -> SqlAlchemyUnitOfWork:
        """For use cases that write: one transaction, which the use case commits."""
        database = self.database
        return SqlAlchemyUnitOfWork(
            database.engine,
            self.features.repositories_for(*needs),
            write_gate=database.write_gate,
            gate_timeout=database.write_gate_timeout,
        )

    def read_unit_of_work(self, *needs: type) -> SqlAlchemyUnitOfWork:
        """For use cases that only read: read-only connections, each statement its own snapshot."""
        return SqlAlchemyUnitOfWork(
            self.database.read_engine, self.features.repositories_for(*needs)
        )

    def snapshot_unit_of_work(self, *needs: type) -> SqlAlchemyUnitOfWork:
        """For reads that must agree with each other (the GDPR export): one read-only snapshot
        transaction over all of them."""
        return SqlAlchemyUnitOfWork(
            self.database.read_engine, self.features.repositories_for(*needs), snapshot=True
        )

    async def close(self) -> None:
        try:
            for close in reversed(self._closers):
                await close()
        finally:
            if self.redis is not None:
                await self.redis.aclose()
            await self.database.dispose()


def _redis_client(url: str) -> Redis:
    # redis (~6 MiB resident, and OpenTelemetry with it) is loaded only when REDIS_URL is set: the
    # embedded default never imports it (issue 13).
    from redis.asyncio import Redis  # noqa: PLC0415

    return Redis.from_url(url)
