"""Every error class answers with the status of its family, and none by accident (issue 10 §3)."""

from __future__ import annotations

import pytest

from app.application.errors import RateLimitedError, RetryLaterError
from app.domain.errors import CodedError, ConflictError, DomainError, NotFoundError
from app.presentation.api.problem import (
    SHARED_ERROR_STATUSES,
    merged_error_statuses,
    status_for,
)
from tests.databases import registered_features
from tests.error_classes import every_error_class

# What the app answers with: the shared families and every registered feature's own.
APP_ERROR_STATUSES = merged_error_statuses(f.error_statuses for f in registered_features())


def bare(error_class: type[CodedError]) -> CodedError:
    """An instance without running its __init__ (some require arguments): only its type counts."""
    return error_class.__new__(error_class)


@pytest.mark.parametrize("error_class", sorted(every_error_class(), key=lambda c: c.__qualname__))
def test_every_error_class_maps_to_a_status(error_class: type[CodedError]) -> None:
    assert 400 <= status_for(bare(error_class), APP_ERROR_STATUSES) <= 599


def test_the_walk_finds_the_errors_of_every_layer() -> None:
    names = {error_class.__name__ for error_class in every_error_class()}

    # A domain family, a feature's domain error, an application family, a port's error.
    assert {
        "NotFoundError",
        "ProductNotFoundError",
        "RateLimitedError",
        "FileTooLargeError",
    } <= names


def test_an_error_answers_with_its_nearest_family() -> None:
    assert status_for(RateLimitedError(retry_after_seconds=1), APP_ERROR_STATUSES) == 429
    assert status_for(RetryLaterError(retry_after_seconds=1), APP_ERROR_STATUSES) == 503


def test_an_error_of_no_mapped_family_fails_loudly() -> None:
    class UnmappedError(DomainError):
        code = "test.unmapped"

    with pytest.raises(LookupError, match="UnmappedError"):
        status_for(UnmappedError(), APP_ERROR_STATUSES)


def test_a_feature_adds_a_family_of_its_own() -> None:
    class QuotaExceededError(DomainError):
        code = "test.quota_exceeded"

    merged = merged_error_statuses([{QuotaExceededError: 507}])

    assert status_for(QuotaExceededError(), merged) == 507
    assert SHARED_ERROR_STATUSES.items() <= merged.items()


@pytest.mark.parametrize(
    "tables",
    [
        [{NotFoundError: 410}],  # a feature over a shared family
        [{ConflictError: 409}],  # even with the same status
    ],
)
def test_a_family_mapped_twice_is_refused(tables: list[dict[type[Exception], int]]) -> None:
    with pytest.raises(ValueError, match="twice"):
        merged_error_statuses(tables)


def test_two_features_mapping_one_family_are_refused() -> None:
    class SharedFamilyError(DomainError):
        code = "test.shared_family"

    with pytest.raises(ValueError, match="SharedFamilyError"):
        merged_error_statuses([{SharedFamilyError: 418}, {SharedFamilyError: 418}])
