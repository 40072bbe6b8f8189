"""What the payment rows need before wrk starts: a user with a session, a few payment intents made
through the API (so that each exists at Strata and at the Stripe stand-in), and files of Stripe
webhook events about them, signed just before each run.

wrk's Lua cannot compute an HMAC, so the events are signed here, in Python, with the SDK's
`stripe.WebhookSignature.generate_signature_header`, and written one per line for
bench/lua/webhook.lua: `<Stripe-Signature header>\\t<JSON body>`.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import stripe

from bench.config import PAYMENT_INTENT_BODY, BenchError
from bench.identity import call_api, log_in, request_json

# Alternating, so that a payment's first events move it (processing, then succeeded) and the rest
# find it already there: "no_change", as most redeliveries and late events do.
WEBHOOK_EVENT_TYPES = (
    ("payment_intent.processing", "processing"),
    ("payment_intent.succeeded", "succeeded"),
)
# Events beyond the expected count, so that a run faster than expected does not run out.
EXTRA_EVENTS = 1000


@dataclass(frozen=True, slots=True)
class Intent:
    """A payment as Strata and Stripe both know it."""

    payment_id: str
    provider_id: str
    amount_cents: int
    currency: str  # Stripe's spelling: lower case


@dataclass(frozen=True, slots=True)
class PaymentFixture:
    access_token: str
    intents: tuple[Intent, ...]


def prepare_payments(port: int, intents: int) -> PaymentFixture:
    """Register a user, log in once and create `intents` payment intents through the API."""
    email = f"bench-payer-{secrets.token_hex(6)}@example.com"
    password = "bench " + secrets.token_urlsafe(24)
    call_api(port, "POST", "/api/v1/auth/register", {"email": email, "password": password}, 201)
    token = str(log_in(port, email, password)["access_token"])
    body = json.loads(PAYMENT_INTENT_BODY)
    made = []
    for _ in range(intents):
        created = call_api(port, "POST", "/api/v1/payments/intents", body, 201, token=token)
        made.append(_intent(created))
    return PaymentFixture(access_token=token, intents=tuple(made))


def _intent(created: dict[str, Any]) -> Intent:
    # Stripe's client secret is `<intent id>_secret_<random>`; our API does not show the intent id.
    client_secret = created.get("client_secret")
    if not isinstance(client_secret, str) or "_secret_" not in client_secret:
        raise BenchError(f"POST /api/v1/payments/intents: no client secret in {created!r}")
    return Intent(
        payment_id=str(created["id"]),
        provider_id=client_secret.split("_secret_", 1)[0],
        amount_cents=int(created["amount_cents"]),
        currency=str(created["currency"]).lower(),
    )


def events_needed(rps: float, seconds: int) -> int:
    """Enough unique events for `seconds` at up to `rps`, with a margin."""
    return math.ceil(rps * seconds * 1.25) + EXTRA_EVENTS


def write_webhook_events(path: Path, intents: tuple[Intent, ...], count: int, secret: str) -> Path:
    """`count` events, each with an id of its own, rotating over the intents; signed now."""
    if not intents:
        raise BenchError("no payment intents to send webhook events about")
    batch = secrets.token_hex(4)  # ids unique across the files of a run
    now = int(time.time())
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            intent = intents[number % len(intents)]
            event_type, status = WEBHOOK_EVENT_TYPES[(number // len(intents)) % 2]
            payload = _event_payload(f"evt_bench_{batch}_{number:08d}", event_type, status, intent)
            signature = stripe.WebhookSignature.generate_signature_header(
                payload, secret, timestamp=now
            )
            out.write(f"{signature}\t{payload}\n")
    return path


def deliver_webhook(port: int, line: str) -> None:
    """Send one event of a file as Stripe would, expecting 200 (so that it is then recorded)."""
    signature, payload = line.rstrip("\n").split("\t", 1)
    headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
    request_json(port, "POST", "/api/v1/payments/webhook", payload.encode(), headers, 200)


def _event_payload(event_id: str, event_type: str, status: str, intent: Intent) -> str:
    """A Stripe event as its API sends one (the fields Strata reads, and the usual others)."""
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {
            "object": {
                "id": intent.provider_id,
                "object": "payment_intent",
                "amount": intent.amount_cents,
                "currency": intent.currency,
                "status": status,
                "livemode": False,
                "last_payment_error": None,
                "metadata": {"strata_payment_id": intent.payment_id},
            }
        },
    }
    # Compact JSON has no tab or newline, so a line holds exactly one event.
    return json.dumps(event, separators=(",", ":"))
