"""The limiter on the in-process storage: windows, Retry-After, the off switch, the settings."""

from __future__ import annotations

import time
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pydantic import ValidationError

from app.application.errors import RateLimitedError
from app.core.config import RATE_LIMIT_NAMES, Settings
from app.infrastructure.adapters.rate_limiter import (
    LimitsRateLimiter,
    RateLimitedCredentialAttempts,
    SweptMemoryStorage,
    account_key,
    hashed_key,
    parse_limit,
)


class FrozenTime:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenTime:
    # limits and the adapter both read time.time(); asyncio's own clock is monotonic, unaffected.
    frozen = FrozenTime(1_800_000_000.0)
    monkeypatch.setattr(time, "time", frozen)
    return frozen


async def hits_until_refused(limiter: LimitsRateLimiter, name: str, key: str) -> int:
    for count in range(1, 1_000):
        try:
            await limiter.hit(name, key)
        except RateLimitedError:
            return count - 1
    raise AssertionError("never refused")


async def test_allows_the_amount_then_refuses_with_retry_after(clock: FrozenTime) -> None:
    limiter = LimitsRateLimiter.in_memory({"login_ip": "3/minute"})
    for _ in range(3):
        await limiter.hit("login_ip", "198.51.100.1")
        clock.now += 10
    with pytest.raises(RateLimitedError) as refused:
        await limiter.hit("login_ip", "198.51.100.1")
    # The first hit (30 s ago) leaves the minute window in 30 s.
    assert refused.value.retry_after_seconds == 30


async def test_moving_window_frees_one_slot_as_the_oldest_hit_expires(clock: FrozenTime) -> None:
    limiter = LimitsRateLimiter.in_memory({"mfa": "2/minute"})
    await limiter.hit("mfa", "token")
    clock.now += 30
    await limiter.hit("mfa", "token")
    with pytest.raises(RateLimitedError):
        await limiter.hit("mfa", "token")
    clock.now += 31  # the first hit is out; the second still counts
    await limiter.hit("mfa", "token")
    with pytest.raises(RateLimitedError) as refused:
        await limiter.hit("mfa", "token")
    assert refused.value.retry_after_seconds == 29


async def test_no_burst_across_a_window_boundary(clock: FrozenTime) -> None:
    # A fixed window would allow 2 + 2 here, around the minute's edge.
    clock.now = 1_800_000_059.0
    limiter = LimitsRateLimiter.in_memory({"api": "2/minute"})
    await limiter.hit("api", "k")
    await limiter.hit("api", "k")
    clock.now += 2
    with pytest.raises(RateLimitedError):
        await limiter.hit("api", "k")


async def test_keys_and_limits_count_separately(clock: FrozenTime) -> None:
    limiter = LimitsRateLimiter.in_memory({"login_ip": "1/minute", "register_ip": "1/minute"})
    await limiter.hit("login_ip", "198.51.100.1")
    await limiter.hit("login_ip", "198.51.100.2")
    await limiter.hit("register_ip", "198.51.100.1")
    with pytest.raises(RateLimitedError):
        await limiter.hit("login_ip", "198.51.100.1")


async def test_longest_window_refuses_with_its_own_retry_after(clock: FrozenTime) -> None:
    limiter = LimitsRateLimiter.in_memory({"login_account": "5/minute;6/hour"})
    for _ in range(6):
        await limiter.hit("login_account", "alice@example.com")
        clock.now += 61
    with pytest.raises(RateLimitedError) as refused:
        await limiter.hit("login_account", "alice@example.com")
    assert refused.value.retry_after_seconds == 3600 - 6 * 61


async def test_refused_hits_do_not_eat_into_longer_windows(clock: FrozenTime) -> None:
    limiter = LimitsRateLimiter.in_memory({"login_account": "2/minute;4/hour"})
    assert await hits_until_refused(limiter, "login_account", "a") == 2
    for _ in range(20):  # bounced retries within the minute
        with pytest.raises(RateLimitedError):
            await limiter.hit("login_account", "a")
    clock.now += 61
    assert await hits_until_refused(limiter, "login_account", "a") == 2


async def test_retry_after_is_at_least_one_second(clock: FrozenTime) -> None:
    limiter = LimitsRateLimiter.in_memory({"api": "1/second"})
    await limiter.hit("api", "k")
    clock.now += 0.999
    with pytest.raises(RateLimitedError) as refused:
        await limiter.hit("api", "k")
    assert refused.value.retry_after_seconds == 1


async def test_disabled_limiter_never_refuses() -> None:
    limiter = LimitsRateLimiter.in_memory({"api": "1/hour"}, enabled=False)
    for _ in range(10):
        await limiter.hit("api", "k")


async def test_build_without_redis_counts_in_process() -> None:
    limiter = LimitsRateLimiter.build({"api": "1/hour"}, enabled=True, redis_url=None, redis=None)
    await limiter.hit("api", "k")
    with pytest.raises(RateLimitedError):
        await limiter.hit("api", "k")


async def test_unknown_limit_name_is_a_programming_error() -> None:
    limiter = LimitsRateLimiter.in_memory({"api": "1/hour"})
    with pytest.raises(KeyError):
        await limiter.hit("apii", "k")


async def test_stored_keys_hold_no_personal_data(clock: FrozenTime) -> None:
    storage = SweptMemoryStorage()
    limiter = LimitsRateLimiter(storage, {"login_account": "5/minute"})
    await limiter.hit("login_account", "alice@example.com")
    assert list(storage.windows) == [f"login_account/{hashed_key('alice@example.com')}/5/1/minute"]
    assert len(hashed_key("alice@example.com")) == 64


async def test_sweep_forgets_expired_hits(clock: FrozenTime) -> None:
    storage = SweptMemoryStorage()
    limiter = LimitsRateLimiter(storage, {"api": "5/second", "login_ip": "5/hour"})
    for key in ("a", "b", "c"):
        await limiter.hit("api", key)
    await limiter.hit("login_ip", "d")
    clock.now += SweptMemoryStorage.SWEEP_INTERVAL_SECONDS + 1
    await limiter.hit("api", "e")  # the next hit after the interval sweeps
    assert sorted(key.split("/")[0] for key in storage.windows) == ["api", "login_ip"]
    assert len(storage.windows) == 2


async def test_sweep_keeps_live_hits_and_drops_expired_counters(clock: FrozenTime) -> None:
    storage = SweptMemoryStorage()
    limiter = LimitsRateLimiter(storage, {"api": "3/10 seconds"})
    await limiter.hit("api", "k")
    clock.now += 8
    await limiter.hit("api", "k")
    await storage.incr("fixed", 1)
    storage.sweep(clock.now + 3)  # the first hit and the counter have expired, the second not
    assert [len(window) for window in storage.windows.values()] == [1]
    assert "fixed" not in storage.storage


def test_parse_limit_orders_windows_shortest_first() -> None:
    windows = parse_limit("RATE_LIMIT_API", "100/day;5/minute;20/hour")
    assert [window.get_expiry() for window in windows] == [60, 3600, 86400]


@pytest.mark.parametrize("value", ["", "five/minute", "5/fortnight", "5 per", "5/minute;;x"])
def test_parse_limit_names_the_setting(value: str) -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_API"):
        parse_limit("RATE_LIMIT_API", value)


def test_parse_limit_refuses_a_zero_amount() -> None:
    with pytest.raises(ValueError, match="allows no request"):
        parse_limit("RATE_LIMIT_API", "0/minute")


@pytest.mark.parametrize("name", RATE_LIMIT_NAMES)
@pytest.mark.parametrize("value", ["5 a minute", "0/minute", "5/minute;x"])
def test_malformed_setting_fails_at_start_up_naming_it(name: str, value: str) -> None:
    with pytest.raises(ValidationError, match=f"RATE_LIMIT_{name.upper()}"):
        Settings(_env_file=None, **{f"rate_limit_{name}": value})  # type: ignore[call-arg]


def test_settings_give_every_limit_by_name() -> None:
    settings = Settings(_env_file=None, rate_limit_mfa="3 per minute")  # type: ignore[call-arg]
    assert set(settings.rate_limits) == set(RATE_LIMIT_NAMES)
    assert settings.rate_limits["mfa"] == "3 per minute"
    LimitsRateLimiter.in_memory(settings.rate_limits)  # the defaults parse


# ---------------------------------------------------------------- per-account keys


@pytest.mark.parametrize(
    "spelling",
    [
        "Victim@Example.org",
        "  victim@example.org\t",
        "victim@\uff45xample.org",
        "victim@example\u3002org",
        "victim@example\uff0eorg",
        "victim@EXAMPLE\uff61ORG",  # a half-width ideographic full stop
    ],
)
def test_every_spelling_of_an_address_is_one_account(spelling: str) -> None:
    assert account_key(spelling) == account_key("victim@example.org")


def test_an_internationalised_domain_is_one_account_in_either_form() -> None:
    assert account_key("victim@EXÄMPLE.org") == account_key("victim@xn--exmple-cua.org")


@pytest.mark.parametrize("unusable", ["", "not an address", "victim@example.org.", "a@b@c"])
def test_a_string_that_is_no_address_never_shares_a_real_accounts_budget(unusable: str) -> None:
    assert account_key(unusable) != account_key("victim@example.org")
    assert account_key(unusable).startswith("unusable:")


async def test_mfa_login_codes_count_per_user_and_share_nothing_with_passwords() -> None:
    limiter = LimitsRateLimiter.in_memory({"mfa": "2/minute", "login_account": "2/minute"})
    attempts = RateLimitedCredentialAttempts(limiter)
    alice, bob = uuid4(), uuid4()
    for _ in range(2):
        await attempts.mfa_login_code(alice)
    with pytest.raises(RateLimitedError):
        await attempts.mfa_login_code(alice)
    await attempts.mfa_login_code(bob)
    for spelling in ("alice@example.org", "ALICE@\uff45xample.org"):
        await attempts.password_or_code(spelling)
    with pytest.raises(RateLimitedError):
        await attempts.password_or_code("alice@example\u3002org")


async def test_the_mfa_default_bounds_guesses_per_account_per_hour(clock: FrozenTime) -> None:
    limiter = LimitsRateLimiter.in_memory(Settings(_env_file=None).rate_limits)  # type: ignore[call-arg]
    attempts = RateLimitedCredentialAttempts(limiter)
    user = uuid4()
    allowed = 0
    for _ in range(60):  # an hour, one try every minute
        try:
            await attempts.mfa_login_code(user)
            allowed += 1
        except RateLimitedError:
            pass
        clock.now += 60
    assert allowed == 20


# ---------------------------------------------------------------- the moving window in process


@given(
    steps=st.lists(
        st.tuples(st.sampled_from([0.0, 0.1, 0.5, 1.0, 2.5, 7.0]), st.integers(1, 3)),
        max_size=60,
    ),
    amount=st.integers(1, 6),
)
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_the_window_decides_as_limits_own_memory_storage(
    clock: FrozenTime, steps: list[tuple[float, int]], amount: int
) -> None:
    """Same hits, same times: ours and limits' stock storage accept and refuse alike, and report
    the same window while hits are counted (so the same Retry-After)."""
    ours = MovingWindowRateLimiter(SweptMemoryStorage())
    stock = MovingWindowRateLimiter(MemoryStorage())
    item = parse_limit("api", f"{amount}/5 seconds")[0]
    for advance, cost in steps:
        clock.now += advance
        assert await ours.hit(item, "k", cost=cost) == await stock.hit(item, "k", cost=cost)
        expected = await stock.get_window_stats(item, "k")
        if expected.remaining < amount:  # (with nothing counted, limits reports a stale start)
            assert await ours.get_window_stats(item, "k") == expected


async def test_forgotten_hits_give_their_memory_back(clock: FrozenTime) -> None:
    storage = SweptMemoryStorage()
    limiter = LimitsRateLimiter(storage, {"api": "100000/10 seconds"})
    for _ in range(20_000):  # 100 hits a second for 200 s: at most 1,000 in any window
        clock.now += 0.01
        await limiter.hit("api", "k")
    (window,) = storage.windows.values()

    assert len(window) <= 1_001
    assert len(window.times) <= 2 * 1_001  # compacted once half of it is forgotten
