from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, cast
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from app.application.use_cases.payment.create_payment_intent import (
    PAYMENT_ID_METADATA_KEY,
    CreatedPaymentIntent,
    NewPaymentIntent,
)
from app.domain.entities.payment import (
    MAX_AMOUNT_CENTS,
    METADATA_KEY_MAX_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_VALUE_MAX_LENGTH,
    MIN_AMOUNT_CENTS,
    Payment,
    PaymentStatus,
    normalise_currency,
    validate_metadata,
)
from app.domain.value_objects.text import METADATA_KEY_PATTERN, SINGLE_LINE_PATTERN
from app.presentation.api.v1.schemas.common import AsSent, IsoCurrency, RequestBody, WholeNumber


def _not_reserved(metadata: dict[str, str]) -> dict[str, str]:
    if PAYMENT_ID_METADATA_KEY in metadata:
        raise ValueError(f"the key {PAYMENT_ID_METADATA_KEY!r} is reserved")
    return validate_metadata(metadata)


Metadata = Annotated[
    dict[
        Annotated[StrictStr, AsSent(METADATA_KEY_MAX_LENGTH)],
        Annotated[StrictStr, AsSent(METADATA_VALUE_MAX_LENGTH)],
    ],
    AfterValidator(_not_reserved),
    Field(
        description=f"at most {METADATA_MAX_KEYS} keys of at most {METADATA_KEY_MAX_LENGTH} "
        f"characters, values of at most {METADATA_VALUE_MAX_LENGTH}; single lines, trimmed",
        json_schema_extra={
            "maxProperties": METADATA_MAX_KEYS,
            "propertyNames": {
                "maxLength": METADATA_KEY_MAX_LENGTH,
                "pattern": METADATA_KEY_PATTERN,
                "not": {"const": PAYMENT_ID_METADATA_KEY},
            },
            "additionalProperties": {
                "type": "string",
                "maxLength": METADATA_VALUE_MAX_LENGTH,
                "pattern": SINGLE_LINE_PATTERN,
            },
        },
    ),
]
Currency = Annotated[
    StrictStr,
    Field(min_length=3, max_length=3, examples=["usd"]),
    IsoCurrency,
    AsSent(3),
    AfterValidator(normalise_currency),
]


class PaymentIntentCreate(RequestBody):
    """With `product_id`, the amount and currency are the product's; sending them too is allowed
    only if they agree."""

    model_config = ConfigDict(
        json_schema_extra={
            # A product's id, or an amount (in the configured currency unless one is sent).
            "anyOf": [
                {"required": ["product_id"], "properties": {"product_id": {"type": "string"}}},
                {"required": ["amount_cents"], "properties": {"amount_cents": {"type": "integer"}}},
            ]
        }
    )

    amount_cents: (
        Annotated[StrictInt, Field(ge=MIN_AMOUNT_CENTS, le=MAX_AMOUNT_CENTS), WholeNumber] | None
    ) = None
    currency: Currency | None = None
    metadata: Metadata = Field(default_factory=dict)
    product_id: UUID | None = None

    def to_request(self) -> NewPaymentIntent:
        return NewPaymentIntent(
            amount_cents=self.amount_cents,
            currency=self.currency,
            metadata=self.metadata,
            product_id=self.product_id,
        )


class PaymentIntentOut(BaseModel):
    id: UUID
    status: PaymentStatus
    amount_cents: int
    currency: str
    client_secret: str | None = Field(
        description="for the payer's browser to confirm the payment with Stripe.js; "
        "only ever shown to the payment's owner"
    )
    metadata: dict[str, str]

    @classmethod
    def of(cls, created: CreatedPaymentIntent) -> PaymentIntentOut:
        payment = created.payment
        return cls(
            id=payment.id,
            status=payment.status,
            amount_cents=payment.amount_cents,
            currency=payment.currency,
            client_secret=created.client_secret,
            metadata=payment.metadata,
        )


class PaymentOut(BaseModel):
    id: UUID
    status: PaymentStatus
    amount_cents: int
    currency: str
    metadata: dict[str, str]
    product_id: UUID | None
    failure_code: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, payment: Payment) -> PaymentOut:
        return cls.model_validate(payment.model_dump(exclude={"sealed_client_secret"}))


class WebhookReceived(BaseModel):
    received: bool = True


# The payment feature's part of the GDPR export (see features/payment.py).
PERSONAL_DATA_SECTIONS = {"payments": list[PaymentOut]}


def personal_data_of(sections: Mapping[str, object]) -> dict[str, object]:
    payments = cast(list[Payment], sections["payments"])
    return {"payments": [PaymentOut.of(payment) for payment in payments]}
