"""A payment: our record of one provider payment intent, owned by the user who asked for it.

Its status follows the provider's, but only forward. Webhooks arrive at least once and in any
order, and a status read from the provider is a snapshot of one moment, so `observe` applies an
observation only when it is news:

- `succeeded` and `canceled` are final: nothing moves a payment out of them;
- an observation older than the last one applied is stale and ignored (compared in whole
  seconds, the provider's resolution: within one second, the order of statuses decides), except
  `succeeded` or `canceled`, which the provider reports only once they hold;
- a failed attempt (`payment_failed`) records why and returns the payment to
  `requires_payment_method`, ready for another attempt;
- any other status applies only if it lies further along than the current one, so a late
  `processing` never undoes `succeeded`, nor a late `requires_action` a later `processing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.domain.errors import InvalidValueError, NotFoundError
from app.domain.validation import validated
from app.domain.value_objects.currency import is_iso_4217
from app.domain.value_objects.text import reject_control_characters, trim

MIN_AMOUNT_CENTS = 50  # Stripe's smallest charge (0.50 in USD and most currencies)
MAX_AMOUNT_CENTS = 99_999_999  # Stripe's largest: eight digits
METADATA_MAX_KEYS = 20
METADATA_KEY_MAX_LENGTH = 40
METADATA_VALUE_MAX_LENGTH = 500
FAILURE_MESSAGE_MAX_LENGTH = 500


class PaymentStatus(StrEnum):
    """The provider's statuses of a payment intent, in the order a payment moves through them."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"

    @property
    def rank(self) -> int:
        # succeeded and canceled share the last rank: neither follows the other.
        return min(_ORDER.index(self), len(_ORDER) - 2)

    @property
    def is_final(self) -> bool:
        return self in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED)


_ORDER = tuple(PaymentStatus)


@dataclass(frozen=True, slots=True)
class PaymentFailure:
    """Why the last attempt failed, as the provider put it (a code, never card data)."""

    code: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class StatusObservation:
    """What the provider said of a payment, and when it said it (an event's creation time, or the
    moment a status was read). `failure` is set for a failed attempt."""

    status: PaymentStatus
    observed_at: datetime
    failure: PaymentFailure | None = None


def whole_seconds(moment: datetime) -> datetime:
    """The provider stamps events in whole seconds; so do we, to compare like with like."""
    return moment.replace(microsecond=0)


def validate_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """Stripe's limits on metadata: at most 20 keys of at most 40 characters, values of at most 500;
    and the rule of every text users send: keys and values are single lines (see value_objects.text).
    """
    if len(metadata) > METADATA_MAX_KEYS:
        raise ValueError(f"at most {METADATA_MAX_KEYS} keys are allowed")
    for key, value in metadata.items():
        if not key.strip():
            raise ValueError("keys must not be blank")
        if len(key) > METADATA_KEY_MAX_LENGTH:
            raise ValueError(f"keys are at most {METADATA_KEY_MAX_LENGTH} characters")
        if "[" in key or "]" in key:
            raise ValueError("keys must not contain square brackets")
        if len(value) > METADATA_VALUE_MAX_LENGTH:
            raise ValueError(f"values are at most {METADATA_VALUE_MAX_LENGTH} characters")
        reject_control_characters(key)
        reject_control_characters(value)
    return metadata


def normalise_currency(code: str) -> str:
    """An ISO 4217 code in upper case (the provider speaks lower case; we store and answer upper)."""
    upper = trim(code).upper()
    if not is_iso_4217(upper):
        raise ValueError("must be an ISO 4217 currency code")
    return upper


class Payment(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    user_id: UUID | None  # None once the user erased their account: the row stays for accounting
    provider_id: Annotated[str, Field(min_length=1, max_length=255)]
    amount_cents: Annotated[int, Field(ge=MIN_AMOUNT_CENTS, le=MAX_AMOUNT_CENTS)]
    currency: str
    status: PaymentStatus
    metadata: dict[str, str] = Field(default_factory=dict)
    product_id: UUID | None = None
    # The client secret, sealed by the application's secret box: only its owner ever sees it.
    sealed_client_secret: str | None = None
    failure_code: str | None = None
    failure_message: Annotated[str, Field(max_length=FAILURE_MESSAGE_MAX_LENGTH)] | None = None
    status_observed_at: datetime  # when the provider said what `status` holds (whole seconds)
    version: Annotated[int, Field(ge=1)] = 1
    created_at: datetime
    updated_at: datetime

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        return normalise_currency(value)

    @field_validator("metadata")
    @classmethod
    def _metadata_limits(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_metadata(value)

    @classmethod
    def record(
        cls,
        *,
        payment_id: UUID,
        user_id: UUID,
        provider_id: str,
        amount_cents: int,
        currency: str,
        status: PaymentStatus,
        metadata: dict[str, str],
        product_id: UUID | None,
        sealed_client_secret: str | None,
        now: datetime,
    ) -> Self:
        """The payment for an intent the provider has just created."""
        return validated(
            cls,
            {
                "id": payment_id,
                "user_id": user_id,
                "provider_id": provider_id,
                "amount_cents": amount_cents,
                "currency": currency,
                "status": status,
                "metadata": metadata,
                "product_id": product_id,
                "sealed_client_secret": sealed_client_secret,
                "status_observed_at": whole_seconds(now),
                "created_at": now,
                "updated_at": now,
            },
        )

    def observe(self, observation: StatusObservation, *, now: datetime) -> Self | None:
        """This payment after the observation, or None when it changes nothing (see the module)."""
        if self.status.is_final:
            return None
        observed_at = whole_seconds(observation.observed_at)
        # A final status is never out of date: the provider reports it only once it holds. (A
        # snapshot stamped on its arrival may carry a later second than the event that ends it.)
        final_news = observation.failure is None and observation.status.is_final
        if observed_at < self.status_observed_at and not final_news:
            return None
        changes = self._changes_of(observation)
        if changes is None:
            return None
        return validated(
            type(self),
            {
                **self.model_dump(),
                **changes,
                "status_observed_at": max(observed_at, self.status_observed_at),
                "version": self.version + 1,
                "updated_at": now,
            },
        )

    def _changes_of(self, observation: StatusObservation) -> dict[str, object] | None:
        """The fields a timely observation changes: a failed attempt's, or a status further
        along than this one; None if it brings nothing new."""
        if observation.failure is not None:
            return {
                "status": PaymentStatus.REQUIRES_PAYMENT_METHOD,
                "failure_code": observation.failure.code,
                "failure_message": (observation.failure.message or "")[:FAILURE_MESSAGE_MAX_LENGTH]
                or None,
            }
        if observation.status.rank > self.status.rank:
            return {"status": observation.status}
        return None


# Errors of the payment feature
class PaymentNotFoundError(NotFoundError):
    code = "payment.not_found"


class AmountMismatchError(InvalidValueError):
    """A client-sent amount or currency that disagrees with the product's price."""

    code = "payment.amount_mismatch"
