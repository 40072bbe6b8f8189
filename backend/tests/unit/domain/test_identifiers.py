"""Identifiers are UUIDv7: they carry their creation time and sort by it."""

from __future__ import annotations

import itertools
import time
import types
import uuid

import pytest

from app.domain.value_objects import identifiers
from app.domain.value_objects.identifiers import new_id


def unix_ms_of(value: uuid.UUID) -> int:
    return value.int >> 80


def frozen_time(monkeypatch: pytest.MonkeyPatch, unix_ms: int) -> None:
    fake_time = types.SimpleNamespace(time_ns=lambda: unix_ms * 1_000_000 + 123_456)
    monkeypatch.setattr(identifiers, "time", fake_time)


def test_is_a_version_7_rfc_9562_uuid() -> None:
    value = new_id()

    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_carries_the_current_unix_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    value = new_id()
    after = time.time_ns() // 1_000_000

    assert before <= unix_ms_of(value) <= after


def test_never_repeats() -> None:
    assert len({new_id() for _ in range(10_000)}) == 10_000


def test_ids_made_within_one_millisecond_keep_version_variant_and_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_time(monkeypatch, 1_760_000_000_000)

    values = [new_id() for _ in range(200)]

    assert {(v.version, v.variant, unix_ms_of(v)) for v in values} == {
        (7, uuid.RFC_4122, 1_760_000_000_000)
    }
    assert len(set(values)) == 200


def test_increases_over_time(monkeypatch: pytest.MonkeyPatch) -> None:
    batches = []
    for unix_ms in (1_760_000_000_000, 1_760_000_000_001, 1_760_000_060_000):
        frozen_time(monkeypatch, unix_ms)
        batches.append([new_id() for _ in range(100)])

    for earlier, later in itertools.pairwise(batches):
        assert max(earlier) < min(later)
