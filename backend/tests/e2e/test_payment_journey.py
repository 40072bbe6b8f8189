"""A customer pays and Stripe's signed webhook marks the payment succeeded
(features/payment_journey.feature); Stripe is the local stand-in (tests/stripe_fake.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenario, then, when

from tests.e2e.journeys import App, running_app
from tests.e2e.payments_helpers import (
    INTENTS,
    event_body,
    payment_settings,
    provider_intent_of,
    sign,
)
from tests.stripe_fake import StripeFake

FEATURE = "features/payment_journey.feature"
WEBHOOK = "/api/v1/payments/webhook"


@scenario(FEATURE, "A customer pays and Stripe's confirmation marks the payment succeeded")
def test_a_customer_pays_and_the_webhook_marks_the_payment_succeeded(database_url: str) -> None:
    """Runs on each database: `database_url` is parametrized by backend."""


@pytest.fixture
def app(database_url: str, stripe_fake: StripeFake) -> Iterator[App]:
    with running_app(payment_settings(database_url, stripe_fake)) as running:
        yield running


@pytest.fixture
def journey() -> dict[str, Any]:
    return {}


def my_payment(app: App, journey: dict[str, Any]) -> dict[str, Any]:
    response = app.get(f"{INTENTS}/{journey['payment']['id']}", headers=journey["customer"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def deliver_signed(app: App, payload: str) -> None:
    """POST the event as Stripe does: the exact bytes, signed with the webhook secret."""
    response = app.post(
        WEBHOOK,
        content=payload.encode(),
        headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}


@given("I am a customer with an account")
def customer(app: App, journey: dict[str, Any]) -> None:
    journey["customer"] = app.sign_up("customer@example.com")


@when(parsers.parse('I start paying {amount:f} {currency} for order "{order}"'))
def start_paying(
    app: App, journey: dict[str, Any], amount: float, currency: str, order: str
) -> None:
    body = {"amount_cents": round(amount * 100), "currency": currency, "metadata": {"order": order}}
    response = app.post(INTENTS, json=body, headers=journey["customer"])
    assert response.status_code == 201, response.text
    journey["payment"] = response.json()
    assert journey["payment"]["amount_cents"] == body["amount_cents"]


@then("my payment is waiting for a card")
def waiting_for_card(app: App, journey: dict[str, Any]) -> None:
    assert my_payment(app, journey)["status"] == "requires_payment_method"


@when("Stripe confirms that the card was charged")
def stripe_confirms(app: App, journey: dict[str, Any], stripe_fake: StripeFake) -> None:
    intent = provider_intent_of(stripe_fake, journey["payment"]["id"])
    journey["event"] = event_body(intent, "payment_intent.succeeded", status="succeeded")
    deliver_signed(app, journey["event"])


@when("Stripe sends the same confirmation again")
def stripe_repeats(app: App, journey: dict[str, Any]) -> None:
    # Stripe delivers at least once: a retry carries the same event id.
    deliver_signed(app, journey["event"])


@then("my payment has succeeded")
def succeeded(app: App, journey: dict[str, Any]) -> None:
    assert my_payment(app, journey) == {**journey["payment"], "status": "succeeded"}


@then("the payment was changed only once")
def changed_once(app: App, journey: dict[str, Any]) -> None:
    listed = app.get("/api/v1/payments", headers=journey["customer"]).json()["items"]
    [payment] = [p for p in listed if p["id"] == journey["payment"]["id"]]
    assert payment["version"] == 2  # created, then succeeded: the repeat did nothing
