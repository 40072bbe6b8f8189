"""The main journeys of Strata's users, in about the proportions a shop with AI search would see:
mostly anonymous browsing and recommendations, then members who refresh their session, search and
pay (with Stripe's webhook following each payment), and one user at a time uploading a recording and
running a pipeline over it.

Every request is checked with `catch_response`: an answer other than the expected status is a failure
whose message starts with "HTTP <status>", which is how bench/load/report.py tells a 5xx from other
errors. Run by bench/load/__main__.py (`python -m bench.load`), which passes the settings below.
"""

from __future__ import annotations

import functools
import os
import random
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import gevent  # type: ignore[import-untyped]  # no stubs installed
import stripe
from locust import HttpUser, between, task
from locust.clients import ResponseContextManager
from locust.exception import RescheduleTask, StopUser

from bench.load.names import (
    CREATE_RESOURCE,
    GET_PRODUCT,
    GET_RUN,
    LIST_PRODUCTS,
    LIST_PRODUCTS_FILTERED,
    LOGIN,
    ME,
    PAYMENT_INTENT,
    RECOMMEND,
    REFRESH,
    REGISTER,
    SEARCH,
    SIMILAR_PRODUCTS,
    START_RUN,
    UPLOAD,
    WEBHOOK,
)
from bench.payments import Intent, _event_payload

U = TypeVar("U", bound=HttpUser)

# Set by bench/load/__main__.py: the secret the server checks webhook signatures with, and the
# recording the uploader sends.
WEBHOOK_SECRET = os.environ.get("LOAD_STRIPE_WEBHOOK_SECRET", "")
SPEECH_FILE = Path(
    os.environ.get(
        "LOAD_SPEECH_FILE",
        Path(__file__).resolve().parents[2] / "backend/tests/data/speech/01_the_weather_today.flac",
    )
)
CATEGORIES = ("electronics", "books", "clothing")
PRICE_RANGES = ("low", "medium", "high")
SEARCH_QUERIES = ("weather today", "sunny and warm", "train leaves", "help", "old dog")
# How long the uploader watches its run before it counts it as stuck.
PIPELINE_DEADLINE_S = 180.0
PIPELINE_POLL_INTERVAL_S = 1.0
FINISHED_RUN_STATES = ("succeeded", "failed", "canceled")


class UnexpectedResponseError(RescheduleTask):
    """A journey cannot go on: the request that broke it already counted as a failure. (Locust
    ends the task quietly and picks the user's next one.)"""


def expect(response: ResponseContextManager, status: int) -> Any:
    """The JSON body of a response with `status`; otherwise the request counts as a failure."""
    if response.status_code != status:
        # status 0: no answer at all (refused, reset, timed out). Locust groups failures by their
        # message, so it holds the problem's stable code, never its request id.
        message = f"HTTP {response.status_code} (expected {status}) {problem_code(response)}"
        response.failure(message.rstrip())  # type: ignore[no-untyped-call]  # locust: untyped
        raise UnexpectedResponseError
    response.success()  # type: ignore[no-untyped-call]
    return response.json() if response.content else None


def problem_code(response: ResponseContextManager) -> str:
    """The `code` of an RFC 9457 problem body (`product.not_found`), or "" for any other body."""
    try:
        body = response.json()
    except ValueError:  # no body, or not JSON
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


def leaves_if_broken(on_start: Callable[[U], None]) -> Callable[[U], None]:
    """A user whose start failed (no catalog page, no account) leaves instead of running tasks
    on half a state; the failed request is already counted."""

    @functools.wraps(on_start)
    def wrapped(user: U) -> None:
        try:
            on_start(user)
        except UnexpectedResponseError as error:
            raise StopUser from error

    return wrapped


class Shopper(HttpUser):
    """An anonymous visitor: lists the catalog, opens products, asks for recommendations."""

    weight = 7
    wait_time = between(0.5, 2.0)

    @leaves_if_broken
    def on_start(self) -> None:
        self.product_ids: list[str] = []
        with self.client.get(
            "/api/v1/products?limit=50", name=LIST_PRODUCTS, catch_response=True
        ) as response:
            page = expect(response, 200)
        self.product_ids = [item["id"] for item in page["items"]]

    def _a_product(self) -> str:
        return random.choice(self.product_ids)

    @task(6)
    def open_a_product(self) -> None:
        if not self.product_ids:
            return
        with self.client.get(
            f"/api/v1/products/{self._a_product()}", name=GET_PRODUCT, catch_response=True
        ) as response:
            expect(response, 200)

    @task(3)
    def browse_the_catalog(self) -> None:
        with self.client.get(
            "/api/v1/products?limit=20", name=LIST_PRODUCTS, catch_response=True
        ) as response:
            expect(response, 200)

    @task(2)
    def browse_a_category(self) -> None:
        query = f"category={random.choice(CATEGORIES)}&price_range={random.choice(PRICE_RANGES)}"
        with self.client.get(
            f"/api/v1/products?{query}&limit=20", name=LIST_PRODUCTS_FILTERED, catch_response=True
        ) as response:
            expect(response, 200)

    @task(4)
    def get_recommendations(self) -> None:
        body = {
            "categories": random.sample(CATEGORIES, k=random.randint(1, 2)),
            "price_range": random.choice(PRICE_RANGES),
            "limit": 10,
        }
        with self.client.post(
            "/api/v1/products/recommendations", json=body, name=RECOMMEND, catch_response=True
        ) as response:
            expect(response, 200)

    @task(2)
    def see_similar_products(self) -> None:
        if not self.product_ids:
            return
        with self.client.get(
            f"/api/v1/products/{self._a_product()}/similar?limit=10",
            name=SIMILAR_PRODUCTS,
            catch_response=True,
        ) as response:
            expect(response, 200)


class Member(HttpUser):
    """A registered customer: registers and logs in once, then browses, refreshes the session,
    searches, now and then logs in again, and pays (Stripe then posts the webhook)."""

    weight = 3
    wait_time = between(1.0, 3.0)

    @leaves_if_broken
    def on_start(self) -> None:
        self.email = f"load-{secrets.token_hex(8)}@example.com"
        self.password = "load " + secrets.token_urlsafe(18)
        self.access_token = ""
        self.refresh_token = ""
        with self.client.post(
            "/api/v1/auth/register",
            json={"email": self.email, "password": self.password},
            name=REGISTER,
            catch_response=True,
        ) as response:
            expect(response, 201)
        self.log_in()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def _keep(self, pair: dict[str, Any]) -> None:
        self.access_token = pair["access_token"]
        self.refresh_token = pair["refresh_token"]

    @task(1)
    def log_in(self) -> None:
        with self.client.post(
            "/api/v1/auth/login",
            data={"username": self.email, "password": self.password},
            name=LOGIN,
            catch_response=True,
        ) as response:
            self._keep(expect(response, 200))

    @task(3)
    def refresh_the_session(self) -> None:
        with self.client.post(
            "/api/v1/auth/refresh",
            json={"refresh_token": self.refresh_token},
            name=REFRESH,
            catch_response=True,
        ) as response:
            self._keep(expect(response, 200))

    @task(4)
    def look_at_the_account(self) -> None:
        with self.client.get(
            "/api/v1/users/me", headers=self._auth(), name=ME, catch_response=True
        ) as response:
            expect(response, 200)

    @task(6)
    def get_recommendations(self) -> None:
        body = {"categories": [random.choice(CATEGORIES)], "limit": 10}
        with self.client.post(
            "/api/v1/products/recommendations",
            json=body,
            headers=self._auth(),
            name=RECOMMEND,
            catch_response=True,
        ) as response:
            expect(response, 200)

    @task(3)
    def search(self) -> None:
        with self.client.get(
            "/api/v1/search",
            params={"q": random.choice(SEARCH_QUERIES), "limit": 10},
            headers=self._auth(),
            name=SEARCH,
            catch_response=True,
        ) as response:
            expect(response, 200)

    @task(2)
    def pay(self) -> None:
        """A payment intent, then Stripe's webhook that it succeeded, signed as Stripe signs it."""
        body = {"amount_cents": random.randint(500, 20_000), "currency": "usd"}
        headers = {**self._auth(), "Idempotency-Key": secrets.token_hex(16)}
        with self.client.post(
            "/api/v1/payments/intents",
            json=body,
            headers=headers,
            name=PAYMENT_INTENT,
            catch_response=True,
        ) as response:
            created = expect(response, 201)
        # Stripe's client secret is `<intent id>_secret_<random>`; our API does not show the id.
        intent = Intent(
            payment_id=str(created["id"]),
            provider_id=str(created["client_secret"]).split("_secret_", 1)[0],
            amount_cents=int(created["amount_cents"]),
            currency=str(created["currency"]).lower(),
        )
        payload = _event_payload(
            f"evt_load_{secrets.token_hex(12)}", "payment_intent.succeeded", "succeeded", intent
        )
        signature = stripe.WebhookSignature.generate_signature_header(
            payload, WEBHOOK_SECRET, timestamp=int(time.time())
        )
        with self.client.post(
            "/api/v1/payments/webhook",
            data=payload.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
            name=WEBHOOK,
            catch_response=True,
        ) as response:
            expect(response, 200)


class Uploader(HttpUser):
    """One user at a time, whatever the number of users: uploads a spoken recording, runs the
    pipeline over it (the worker transcribes, chunks, embeds and indexes it), watches the run to its
    end and searches what it indexed. Heavy for the worker, rare for the API."""

    fixed_count = 1
    wait_time = between(5.0, 10.0)

    @leaves_if_broken
    def on_start(self) -> None:
        email = f"load-uploader-{secrets.token_hex(8)}@example.com"
        password = "load " + secrets.token_urlsafe(18)
        with self.client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": password},
            name=REGISTER,
            catch_response=True,
        ) as response:
            expect(response, 201)
        with self.client.post(
            "/api/v1/auth/login",
            data={"username": email, "password": password},
            name=LOGIN,
            catch_response=True,
        ) as response:
            self.headers = {"Authorization": f"Bearer {expect(response, 200)['access_token']}"}
        self.recording = SPEECH_FILE.read_bytes()

    @task
    def transcribe_a_recording(self) -> None:
        with self.client.post(
            "/api/v1/resources",
            json={"name": "load recording", "description": "uploaded by the load test"},
            headers=self.headers,
            name=CREATE_RESOURCE,
            catch_response=True,
        ) as response:
            resource_id = expect(response, 201)["id"]
        with self.client.post(
            f"/api/v1/resources/{resource_id}/files",
            files={"file": (SPEECH_FILE.name, self.recording, "audio/flac")},
            headers=self.headers,
            name=UPLOAD,
            catch_response=True,
        ) as response:
            file_id = expect(response, 201)["id"]
        with self.client.post(
            "/api/v1/pipelines/runs",
            json={"resource_id": resource_id, "file_id": file_id},
            headers={**self.headers, "Idempotency-Key": secrets.token_hex(16)},
            name=START_RUN,
            catch_response=True,
        ) as response:
            run_id = expect(response, 202)["run_id"]
        self._watch_until_finished(run_id)
        with self.client.get(
            "/api/v1/search",
            params={"q": "weather", "resource_id": resource_id},
            headers=self.headers,
            name=SEARCH,
            catch_response=True,
        ) as response:
            expect(response, 200)

    def _watch_until_finished(self, run_id: str) -> None:
        deadline = time.monotonic() + PIPELINE_DEADLINE_S
        while True:
            with self.client.get(
                f"/api/v1/pipelines/runs/{run_id}",
                headers=self.headers,
                name=GET_RUN,
                catch_response=True,
            ) as response:
                run = expect(response, 200)
                if run["status"] in FINISHED_RUN_STATES and run["status"] != "succeeded":
                    failed = [step for step in run["steps"] if step["status"] == "failed"]
                    where = f"{failed[0]['name']}: {failed[0]['error']}" if failed else "no step"
                    response.failure(f"pipeline run {run['status']} ({where})")
                    raise UnexpectedResponseError
                if run["status"] == "succeeded":
                    return
                if time.monotonic() > deadline:
                    response.failure(f"pipeline run not finished after {PIPELINE_DEADLINE_S:.0f} s")
                    raise UnexpectedResponseError
            gevent.sleep(PIPELINE_POLL_INTERVAL_S)  # lets the other users run meanwhile
