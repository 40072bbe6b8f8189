"""The composition root: which adapter serves which port. Built once per app, in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis

from app.application.idempotency import IdempotencyKeys
from app.application.interfaces.credentials import MailSender
from app.application.interfaces.session import TokenDenyList
from app.application.services.credentials.password_policy import PasswordPolicy
from app.application.services.credentials.second_factor import SecondFactor
from app.application.services.product import CatalogSettings
from app.application.services.session import SessionPolicy, SessionTokens
from app.application.use_cases.payment.record_payment_event import RecordPaymentEvent
from app.application.use_cases.product.seed_products import SeedCatalog
from app.application.use_cases.user.ensure_admin import EnsureAdmin
from app.core.config import Settings
from app.domain.events import DomainEvent
from app.domain.events.payment import PaymentEvent
from app.infrastructure.adapters.access_policy import CasbinAccessPolicy
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker
from app.infrastructure.adapters.clock import SystemClock
from app.infrastructure.adapters.content_type import PuremagicContentTypeSniffer
from app.infrastructure.adapters.encryption import AesGcmSecretBox, MasterKeyRing
from app.infrastructure.adapters.event_publisher import InProcessEventPublisher
from app.infrastructure.adapters.file_storage import LocalEncryptedFileStorage
from app.infrastructure.adapters.health import ReadinessProbes
from app.infrastructure.adapters.jwt_tokens import JwtTokenService
from app.infrastructure.adapters.mail import FileMailSender, SmtpMailSender
from app.infrastructure.adapters.password_hasher import Argon2PasswordHasher
from app.infrastructure.adapters.password_strength import ZxcvbnPasswordStrengthChecker
from app.infrastructure.adapters.rate_limiter import LimitsRateLimiter
from app.infrastructure.adapters.read_cache import InProcessReadCache
from app.infrastructure.adapters.stripe_gateway import (
    StripePaymentGateway,
    UnconfiguredPaymentGateway,
)
from app.infrastructure.adapters.stripe_webhooks import StripeWebhookVerifier
from app.infrastructure.adapters.token_deny_list import InProcessTokenDenyList, RedisTokenDenyList
from app.infrastructure.adapters.totp import PyotpAuthenticator
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.unit_of_work import SqlAlchemyUnitOfWork
from app.presentation.api.client_ip import IPNetwork, parse_trusted_proxies


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    database: Database
    redis: Redis | None
    clock: SystemClock
    password_hasher: Argon2PasswordHasher
    access_tokens: JwtTokenService  # access and MFA tokens
    token_deny_list: TokenDenyList
    session_tokens: SessionTokens
    catalog: CatalogSettings
    catalog_cache: InProcessReadCache
    readiness: ReadinessProbes
    trusted_proxies: tuple[IPNetwork, ...]
    rate_limiter: LimitsRateLimiter
    access_policy: CasbinAccessPolicy
    file_storage: LocalEncryptedFileStorage
    mail_sender: MailSender
    password_policy: PasswordPolicy
    second_factor: SecondFactor
    totp: PyotpAuthenticator
    secret_box: AesGcmSecretBox
    content_type_sniffer: PuremagicContentTypeSniffer
    payment_gateway: StripePaymentGateway | UnconfiguredPaymentGateway
    payment_breaker: CircuitBreaker | None  # None while payments are not configured
    webhook_verifier: StripeWebhookVerifier
    event_publisher: InProcessEventPublisher
    idempotency_keys: IdempotencyKeys

    @classmethod
    def build(cls, settings: Settings) -> Container:
        database = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_timeout_seconds,
        )
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        clock = SystemClock()
        key_ring = MasterKeyRing.from_setting(settings.encryption_keys)
        totp = PyotpAuthenticator(settings.totp_issuer)
        secret_box = AesGcmSecretBox(key_ring)
        gateway, breaker = _payment_gateway(settings)
        tokens = JwtTokenService(
            signing_key=settings.signing_key,
            ttl_seconds=settings.access_token_ttl_seconds,
            clock=clock,
        )
        container = cls(
            settings=settings,
            database=database,
            redis=redis,
            clock=clock,
            password_hasher=Argon2PasswordHasher(
                memory_kib=settings.password_hash_memory_kib,
                iterations=settings.password_hash_iterations,
                concurrency=settings.password_hash_concurrency,
            ),
            access_tokens=tokens,
            # Logouts must reach every API process: in Redis when there is one.
            token_deny_list=(
                RedisTokenDenyList(redis, clock) if redis else InProcessTokenDenyList(clock)
            ),
            session_tokens=SessionTokens(
                tokens,
                clock,
                SessionPolicy(
                    refresh_token_lifetime=timedelta(seconds=settings.refresh_token_ttl_seconds),
                    max_sessions_per_user=settings.max_sessions_per_user,
                ),
            ),
            catalog=CatalogSettings(categories=tuple(settings.catalog_categories)),
            catalog_cache=InProcessReadCache(
                ttl_seconds=settings.catalog_cache_ttl_seconds,
                max_entries=settings.catalog_cache_max_entries,
            ),
            readiness=ReadinessProbes(database, redis),
            trusted_proxies=parse_trusted_proxies(settings.trusted_proxies),
            access_policy=CasbinAccessPolicy(database.read_engine),
            file_storage=LocalEncryptedFileStorage(settings.storage_dir, key_ring),
            mail_sender=_mail_sender(settings),
            password_policy=PasswordPolicy(ZxcvbnPasswordStrengthChecker()),
            second_factor=SecondFactor(totp, secret_box, clock),
            totp=totp,
            secret_box=secret_box,
            content_type_sniffer=PuremagicContentTypeSniffer(),
            rate_limiter=LimitsRateLimiter.build(
                settings.rate_limits,
                enabled=settings.rate_limit_enabled,
                redis_url=settings.redis_url,
                redis=redis,
            ),
            payment_gateway=gateway,
            payment_breaker=breaker,
            webhook_verifier=StripeWebhookVerifier(settings.stripe_webhook_secrets),
            event_publisher=InProcessEventPublisher(),
            idempotency_keys=IdempotencyKeys(secret_box),
        )
        container.event_publisher.subscribe(PaymentEvent, container._record_payment_event)
        return container

    def write_unit_of_work(self) -> SqlAlchemyUnitOfWork:
        database = self.database
        return SqlAlchemyUnitOfWork(
            database.engine,
            write_gate=database.write_gate,
            gate_timeout=database.write_gate_timeout,
        )

    # Use cases run outside a request (start-up bootstrap, the CLI), composed here like the rest.
    def ensure_admin(self) -> EnsureAdmin:
        return EnsureAdmin(
            self.write_unit_of_work(),
            self.password_hasher,
            self.password_policy,
            self.clock,
        )

    def seed_catalog(self) -> SeedCatalog:
        return SeedCatalog(self.write_unit_of_work(), self.catalog_cache)

    async def _record_payment_event(self, event: DomainEvent) -> None:
        # A unit of work per event: handlers of concurrent requests must not share one.
        await RecordPaymentEvent(self.write_unit_of_work())(event)

    async def close(self) -> None:
        await self.payment_gateway.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()


def _mail_sender(settings: Settings) -> MailSender:
    """SMTP when SMTP_HOST is set; otherwise `.eml` files (development and tests)."""
    if settings.smtp_host:
        return SmtpMailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_starttls,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    return FileMailSender(settings.mail_dir, settings.smtp_from)


def _payment_gateway(
    settings: Settings,
) -> tuple[StripePaymentGateway | UnconfiguredPaymentGateway, CircuitBreaker | None]:
    """Stripe when STRIPE_SECRET_KEY is set; otherwise every payment call answers 503."""
    if settings.stripe_secret_key is None or not settings.stripe_secret_key.get_secret_value():
        return UnconfiguredPaymentGateway(), None
    breaker = CircuitBreaker(
        failure_threshold=settings.stripe_breaker_failure_threshold,
        cooldown_seconds=settings.stripe_breaker_cooldown_seconds,
    )
    gateway = StripePaymentGateway(
        api_key=settings.stripe_secret_key.get_secret_value(),
        api_base=settings.stripe_api_base,
        connect_timeout_seconds=settings.stripe_connect_timeout_seconds,
        read_timeout_seconds=settings.stripe_read_timeout_seconds,
        max_retries=settings.stripe_max_retries,
        retry_base_delay_seconds=settings.stripe_retry_base_delay_seconds,
        retry_max_delay_seconds=settings.stripe_retry_max_delay_seconds,
        breaker=breaker,
    )
    return gateway, breaker
