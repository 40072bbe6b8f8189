"""The zxcvbn adapter: its verdicts and reasons, and the bounds that keep its cost small."""

from __future__ import annotations

import asyncio
import random
import string
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zxcvbn import zxcvbn

from app.infrastructure.adapters import password_strength
from app.infrastructure.adapters.password_strength import (
    CHUNK_LENGTH,
    REPEAT_WARNING,
    ZxcvbnPasswordStrengthChecker,
    judge,
    shortest_period,
)

ZEPHYRINE = [
    "zephyrine.quillfeather@example.com",
    "zephyrine.quillfeather",
    "Zephyrine",
    "Quillfeather",
]
LEETISH = "@$!|0134578+(<{[%2a9ilotesbgzcx"  # what makes zxcvbn slow: many l33t look-alikes


async def weakness(password: str, user_inputs: Sequence[str] = ()) -> str | None:
    return await ZxcvbnPasswordStrengthChecker().weakness(password, user_inputs=user_inputs)


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "a long and unguessable passphrase",
        "a different and equally long passphrase",
        "Vx9!qLw2#Rt7$Kp4" * 8,
        "my name is zephyrine and i like to eat apples with my dog rex",
    ],
)
async def test_accepts_passphrases_and_long_random_passwords(password: str) -> None:
    assert await weakness(password, ZEPHYRINE) is None


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password1234", "This is a very common password."),
        ("qwertyuiopasdf", "This is similar to a commonly used password."),
        ("1234567890" * 12 + "12345678", "Repeats like"),
        ("a" * 128, "Repeats like"),
        ("iloveyou" * 16, "Repeats like"),
    ],
)
async def test_refuses_common_and_patterned_passwords_with_zxcvbns_reason(
    password: str, reason: str
) -> None:
    why = await weakness(password)

    assert why is not None
    assert why.startswith(reason), why


async def test_the_users_own_name_and_address_count_as_guessable() -> None:
    assert await weakness("Quillfeather1987") is None
    why = await weakness("Quillfeather1987", ZEPHYRINE)

    assert why is not None
    assert "Add another word or two" in why
    assert why.count("Add another word") == 1  # a sentence zxcvbn repeats is said once


async def test_a_password_of_one_chunk_gets_exactly_zxcvbns_verdict() -> None:
    for password in ("password1234", "Tr0ub4dor&3xyz", "correct horse battery", "q" * 20):
        expected_strong = zxcvbn(password, user_inputs=[])["score"] >= 3
        assert (await weakness(password) is None) is expected_strong, password


async def test_over_128_characters_is_refused_without_judging() -> None:
    assert await weakness("Vx9!qLw2#Rt7$Kp4" * 8 + "x") == "Use at most 128 characters."


def test_zxcvbn_never_sees_more_than_one_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def measured(password: str, user_inputs: list[str]) -> dict[str, Any]:
        seen.append(len(password))
        return dict(zxcvbn(password, user_inputs=user_inputs))

    monkeypatch.setattr(password_strength, "zxcvbn", measured)
    rng = random.Random(7)
    for _ in range(3):
        judge("".join(rng.choice(LEETISH) for _ in range(128)), [])
    judge("aaaa" * 16 + "".join(rng.choice(string.ascii_letters) for _ in range(64)), [])

    assert seen
    assert max(seen) <= CHUNK_LENGTH


def test_the_worst_inputs_measured_stay_cheap() -> None:
    # Unchunked, zxcvbn took 1-10 s on these; chunked, about 0.1 s. The bound is generous.
    rng = random.Random(11)
    for alphabet in (LEETISH, string.printable[:94]):
        password = "".join(rng.choice(alphabet) for _ in range(128))
        started = time.perf_counter()
        assert judge(password, []) is None
        assert time.perf_counter() - started < 1.5


def test_a_repetition_is_judged_by_what_repeats() -> None:
    assert judge("abc" * 40, []) is not None
    assert REPEAT_WARNING in (judge("passwordpassword", []) or "")


@given(st.text(alphabet="abc", min_size=1, max_size=12), st.integers(1, 12))
def test_shortest_period_finds_the_repeated_base(base: str, times: int) -> None:
    password = (base * times)[: len(base) * times - (times > 1)]
    period = shortest_period(password)

    assert period <= len(password)
    assert password == (password[:period] * len(password))[: len(password)]
    if times > 2:
        assert period <= len(base)


@given(st.text(max_size=40))
def test_shortest_period_is_a_period_of_any_text(password: str) -> None:
    period = shortest_period(password)

    assert password == (password[:period] * (len(password) + 1))[: len(password)]
    assert all(
        password != (password[:shorter] * (len(password) + 1))[: len(password)]
        for shorter in range(1, period)
    )


async def test_checks_run_in_threads_a_bounded_number_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = 0
    most = 0
    lock = threading.Lock()
    loop_thread = threading.get_ident()

    def slow_judge(password: str, user_inputs: list[str]) -> str | None:
        nonlocal running, most
        assert threading.get_ident() != loop_thread
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return None

    monkeypatch.setattr(password_strength, "judge", slow_judge)
    checker = ZxcvbnPasswordStrengthChecker(max_concurrent_checks=2)

    results = await asyncio.gather(
        *(checker.weakness("correct horse battery staple", user_inputs=[]) for _ in range(6))
    )

    assert results == [None] * 6
    assert most == 2
    assert password_strength.MAX_CONCURRENT_CHECKS == 1  # what the app uses


def test_threads_judging_at_once_each_use_their_own_user_inputs() -> None:
    # zxcvbn keeps the user inputs in a module global: without the lock, one thread's password
    # is now and then judged against the other thread's inputs (measured: 8 in 80 here, with
    # threads switching as often as this forces).
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    people = {
        "Quillfeather1987": ["zephyrine.quillfeather@example.com", "Quillfeather"],
        "Brambleworth1987": ["oswin.brambleworth@example.com", "Brambleworth"],
    }
    jobs = list(people.items()) * 40

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            verdicts = list(pool.map(lambda job: judge(*job), jobs))
    finally:
        sys.setswitchinterval(previous)

    assert all(verdict is not None for verdict in verdicts)
    assert judge("Brambleworth1987", []) is None  # weak only because of its owner's name
