"""Rate limits with the `limits` library: in process by default, in Redis when REDIS_URL is set.

Strategy: moving window. A fixed window lets a client spend a whole budget just before a window
boundary and another just after it (10 password guesses in two seconds under "5/minute"); the moving
window counts the exact last N seconds, and its Retry-After is exact: when the oldest counted hit
leaves the window. In Redis, limits keeps one list per active key of at most `amount` timestamps;
in process, `SweptMemoryStorage` keeps the same timestamps in an array per key (see there).

Keys read `strata:ratelimit:<limit name>/<sha256 of the key>/<window>`: the key (a normalised e-mail,
a user id, an address) is hashed so no personal data or secret lands in Redis. When Redis cannot answer, the
limiter fails closed with `DependencyUnavailableError` (503), never open.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import logging
import math
import time
from array import array
from collections.abc import Mapping
from typing import TYPE_CHECKING
from uuid import UUID

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from app.application.errors import DependencyUnavailableError, RateLimitedError
from app.domain.errors import InvalidValueError
from app.domain.value_objects.email import normalize_email

if TYPE_CHECKING:  # redis itself is imported by limits' RedisStorage, only when counting in Redis
    from redis.asyncio import ConnectionPool, Redis

logger = logging.getLogger("strata.rate_limit")
KEY_PREFIX = "strata:ratelimit"
# A rate-limit check runs on every request: when Redis hangs rather than refuses, answer 503 soon.
STORAGE_TIMEOUT_SECONDS = 1.0
# What a storage that cannot answer raises: limits wraps the Redis client's own errors in
# StorageError, but not the RuntimeError uvloop raises when the socket was closed under the client
# ("unable to perform operation on <TCPTransport closed=True>"; redis-py drops that connection).
STORAGE_FAILURES = (StorageError, TimeoutError, OSError, RuntimeError)
# What a client is told to wait when the storage is down: long enough not to hammer it.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


class _Window:
    """One key's hits in a moving window: their times, oldest first, in a flat array of floats.

    Hits are appended at the end and forgotten from the front (an index moves; the array is
    compacted once most of it is forgotten), so taking a hit costs the same however large the
    limit. limits' own in-process storage keeps a list of objects, newest first, and inserts
    every hit at its front: time and memory grow with the hits in the window, which under a
    generous limit ("100000/minute") means a copy of hundreds of thousands of pointers per hit.
    """

    __slots__ = ("seconds", "start", "times")

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.times = array("d")
        self.start = 0

    def live(self, now: float) -> int:
        """Forget the hits that left the window by `now`; how many are left. A hit exactly one
        window old still counts, as in limits' own storage."""
        times = self.times
        cutoff = now - self.seconds
        if self.start < len(times) and times[self.start] < cutoff:
            self.start = bisect.bisect_left(times, cutoff, lo=self.start)
            if self.start * 2 >= len(times):
                del times[: self.start]
                self.start = 0
        return len(times) - self.start

    def counted_since(self, cutoff: float) -> tuple[float, int]:
        """The oldest hit after `cutoff` and how many there are (limits' window statistics)."""
        first = bisect.bisect_right(self.times, cutoff, lo=self.start)
        return (self.times[first], len(self.times) - first) if first < len(self.times) else (0, 0)

    def __len__(self) -> int:
        """The hits kept (some may have left the window since `live` last looked)."""
        return len(self.times) - self.start


class SweptMemoryStorage(MemoryStorage):
    """limits' in-process storage, with the moving window kept in `_Window`s and a cheaper way of
    forgetting expired hits.

    The stock one starts a new sweep task after every hit once the last sweep ended, and that
    sweep hops to a worker thread for every key: under a real event loop this measured ~180 µs per
    hit for the moving window. Here the sweep runs inline, without threads, at most once every
    SWEEP_INTERVAL_SECONDS; memory stays bounded by the keys active within a window plus one interval.
    Nothing here awaits, so no other request's hit interleaves with one being taken.
    """

    SWEEP_INTERVAL_SECONDS = 5.0

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep_at = 0.0
        self.windows: dict[str, _Window] = {}  # the moving window's hits, per key

    # Overrides MemoryStorage's private `__schedule_expiry`, which every hit calls (name-mangled).
    async def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - the mangled name
        self._sweep_if_due(time.time())

    def _sweep_if_due(self, now: float) -> None:
        if now >= self._next_sweep_at:
            self._next_sweep_at = now + self.SWEEP_INTERVAL_SECONDS
            self.sweep(now)

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        self._sweep_if_due(now)
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = _Window(expiry)
        if window.live(now) + amount > limit:
            return False
        window.times.extend([now] * amount)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(when the oldest counted hit was taken, how many are counted); (now, 0) for none."""
        now = time.time()
        window = self.windows.get(key)
        if window is None:
            return now, 0
        window.live(now)
        oldest, count = window.counted_since(now - expiry)
        return (oldest, count) if count else (now, 0)

    async def clear(self, key: str) -> None:
        await super().clear(key)
        self.windows.pop(key, None)

    async def reset(self) -> int | None:
        count = len(self.windows)
        self.windows.clear()
        return max(count, await super().reset() or 0)

    def sweep(self, now: float) -> None:
        """Drop the hits and counters expired by `now`; no await, so no hit interleaves with it."""
        for key, window in list(self.windows.items()):
            if not window.live(now):
                del self.windows[key]
        for key, expires_at in list(self.expirations.items()):
            if expires_at <= now:
                self.storage.pop(key, None)
                del self.expirations[key]
                self.locks.pop(key, None)


def parse_limit(setting: str, value: str) -> tuple[RateLimitItem, ...]:
    """The windows of one limit setting, shortest first; ValueError names the setting."""
    try:
        items = parse_many(value)
    except ValueError as exc:
        raise ValueError(
            f"{setting}: {value!r} is not a rate limit such as '5/minute;20/hour'"
        ) from exc
    if any(item.amount < 1 for item in items):
        raise ValueError(f"{setting}: {value!r} allows no request at all; every amount must be ≥ 1")
    return tuple(sorted(items, key=lambda item: item.get_expiry()))


def hashed_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class LimitsRateLimiter:
    """Named limits (`login_ip`, `api`, ...) each with one or more windows; `hit` takes one request."""

    def __init__(
        self, storage: Storage, limits: Mapping[str, str], *, enabled: bool = True
    ) -> None:
        self._strategy = MovingWindowRateLimiter(storage)
        self._remote = not isinstance(storage, MemoryStorage)
        self.enabled = enabled
        # The limit's name is each window's namespace: every limit counts on keys of its own.
        self._limits = {
            name: tuple(
                type(item)(item.amount, item.multiples, namespace=name)
                for item in parse_limit(name, value)
            )
            for name, value in limits.items()
        }

    @classmethod
    def build(
        cls, limits: Mapping[str, str], *, enabled: bool, redis_url: str | None, redis: Redis | None
    ) -> LimitsRateLimiter:
        """In Redis, on the app's own connection pool, when there is one; else in this process."""
        if redis_url is None or redis is None:
            return cls.in_memory(limits, enabled=enabled)
        return cls.on_redis(
            redis_url, limits, enabled=enabled, connection_pool=redis.connection_pool
        )

    @classmethod
    def in_memory(cls, limits: Mapping[str, str], *, enabled: bool = True) -> LimitsRateLimiter:
        return cls(SweptMemoryStorage(), limits, enabled=enabled)

    @classmethod
    def on_redis(
        cls,
        url: str,
        limits: Mapping[str, str],
        *,
        enabled: bool = True,
        connection_pool: ConnectionPool | None = None,
    ) -> LimitsRateLimiter:
        """Counts in Redis, shared by every process; reuses the app's connection pool if given."""
        options: dict[str, ConnectionPool] = (
            {"connection_pool": connection_pool} if connection_pool is not None else {}
        )
        storage = RedisStorage(
            f"async+{url}",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            wrap_exceptions=True,
            **options,  # type: ignore[arg-type]
        )
        return cls(storage, limits, enabled=enabled)

    async def hit(self, limit_name: str, key: str) -> None:
        """Count one request of `key` against the limit; RateLimitedError with Retry-After when over.

        Windows are taken shortest first and the first one that refuses stops the count, so a
        refused request does not also eat into the longer windows (a user who hits "5/minute" is not
        locked out for the hour by the retries that bounced).
        """
        if not self.enabled:
            return
        windows = self._limits[limit_name]
        identifier = hashed_key(key)
        if not self._remote:
            # In process nothing can hang: skip the timer a timeout would arm on every hit.
            await self._take(windows, identifier)
            return
        try:
            async with asyncio.timeout(STORAGE_TIMEOUT_SECONDS):
                await self._take(windows, identifier)
        except STORAGE_FAILURES as exc:
            # Said once per refused request: a 503 nobody can explain from the logs is worse.
            logger.warning("rate-limit storage unavailable", extra={"error": type(exc).__name__})
            raise DependencyUnavailableError(
                retry_after_seconds=UNAVAILABLE_RETRY_AFTER_SECONDS
            ) from exc

    async def _take(self, windows: tuple[RateLimitItem, ...], identifier: str) -> None:
        for window in windows:
            if not await self._strategy.hit(window, identifier):
                reset_at, _ = await self._strategy.get_window_stats(window, identifier)
                raise RateLimitedError(retry_after_seconds=_seconds_until(reset_at))


# The per-account limits, as in the settings RATE_LIMIT_<NAME>.
LOGIN_ACCOUNT = "login_account"
MFA = "mfa"


def account_key(address: str) -> str:
    """One budget per account however its address is spelled: the form the account lookup uses.

    `normalize_email` maps the domain as IDNA does (full-width letters, "。" for ".", case), so
    every spelling that reaches an account counts against that account. A string it refuses
    reaches no account; it is counted under its case-folded self, apart from every real address.
    """
    try:
        return f"email:{normalize_email(address)}"
    except InvalidValueError:
        return f"unusable:{address.strip().casefold()}"


class RateLimitedCredentialAttempts:
    """The `CredentialAttempts` port on the limiter: `login_account` per normalised address,
    `mfa` per user id."""

    def __init__(self, limiter: LimitsRateLimiter) -> None:
        self._limiter = limiter

    async def password_or_code(self, email: str) -> None:
        await self._limiter.hit(LOGIN_ACCOUNT, account_key(email))

    async def mfa_login_code(self, user_id: UUID) -> None:
        await self._limiter.hit(MFA, f"user:{user_id}")


def _seconds_until(reset_at: float) -> int:
    return max(1, math.ceil(reset_at - time.time()))
