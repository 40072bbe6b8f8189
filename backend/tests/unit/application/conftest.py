"""Fixtures of the use-case tests: fresh fakes for every test."""

from __future__ import annotations

import pytest

from tests.fakes import FakeClock, FakeUnitOfWork


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
