"""Issue 9, item 16: the published OpenAPI schema says exactly what the server does.

Schemathesis generates requests for every operation from the app's own schema (valid ones and
invalid ones), sends them through the ASGI app with an administrator's or a user's token, and
checks every answer against the schema: no 500, only documented status codes, content types and
headers, bodies that match their schema, invalid data refused and valid data accepted; then
sequences of calls along the links schemathesis infers (create, read, change, delete), with the
checks that need a history (use after free, resource availability).

Payments talk to the local Stripe stand-in; rate limiting is off. A bounded, reproducible run
(8 derandomized examples per operation, on SQLite and PostgreSQL); `make fuzz` runs the same tests
longer (STRATA_FUZZ_EXAMPLES examples). test_openapi_contract_live.py runs the same checks
(check_operation, run_sequences) against `strata serve`; CaseCount prints how many cases each run
sent at the end of the session.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
import schemathesis
from httpx import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
    POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
)
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.presentation.bootstrap import bootstrap
from app.presentation.main import create_app
from tests.conftest import empty_all_tables
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD, make_settings
from tests.e2e.payments_helpers import payment_settings
from tests.stripe_fake import StripeFake

MAX_EXAMPLES = int(os.environ.get("STRATA_FUZZ_EXAMPLES", "8"))
USER_EMAIL = "contract@example.com"
# Operations only an administrator may call; everything else runs with a plain user's token.
ADMIN_PREFIXES = ("/api/v1/admin", "/api/v1/products", "/api/v1/users/{user_id}")
ADMIN_OPERATIONS = {("GET", "/api/v1/users")}
# Operations where a request the schema allows may still be refused, for a reason no schema can
# state: a secret or one-time value that must match (token, code, password, opaque cursor), or a
# new password that must be hard to guess. They run every other check; only "schema-valid data is
# accepted" is left out for them.
SECRET_OR_OPAQUE_INPUT = {
    ("POST", "/api/v1/auth/register"),  # the password must be hard to guess (zxcvbn)
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/password/reset"),
    ("POST", "/api/v1/auth/password/change"),
    ("POST", "/api/v1/auth/email/verify"),
    ("POST", "/api/v1/auth/mfa/enable"),
    ("POST", "/api/v1/auth/mfa/disable"),
    ("POST", "/api/v1/auth/mfa/verify"),
    ("DELETE", "/api/v1/users/me"),
    ("POST", "/api/v1/payments/webhook"),  # signed by Stripe
    # A product_id must name an existing product, and an amount sent with it must be its price.
    ("POST", "/api/v1/payments/intents"),
    # The bytes must be of a recognised type (read from the content), and valid multipart.
    ("POST", "/api/v1/resources/{resource_id}/files"),
    # An opaque pagination cursor: only one the server handed out is valid.
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/admin/audit"),
    ("GET", "/api/v1/admin/jobs"),
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/resources"),
    ("GET", "/api/v1/payments"),
    ("GET", "/api/v1/pipelines/runs"),
}


def contract_config(max_examples: int) -> schemathesis.Config:
    """Every check schemathesis has (all are on unless turned off), with the refusals our API adds
    to what each expects; generation reproducible."""
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": max_examples,
                "deterministic": True,
            },
            "checks": {
                "enabled": True,
                # A conditional request (If-Match) is answered before its body is looked at: an
                # invalid body with a stale version is refused with 412, which is a refusal too.
                "negative_data_rejection": {
                    "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "412"]
                },
                # An If-Match the schema allows but that names another version is refused (412).
                "positive_data_acceptance": {
                    "expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "412"]
                },
            },
        }
    )


class CaseCount:
    """How many generated requests the contract tests sent and checked, by run, printed at the
    end of the pytest session (`make fuzz` quotes the total). A pytest plugin, registered by the
    first contract test that counts; per process (under xdist each worker counts its own)."""

    NAME = "strata-openapi-case-count"

    def __init__(self) -> None:
        self.by_run: Counter[str] = Counter()

    @classmethod
    def of(cls, config: pytest.Config) -> CaseCount:
        plugin = config.pluginmanager.get_plugin(cls.NAME)
        if plugin is None:
            plugin = cls()
            config.pluginmanager.register(plugin, cls.NAME)
        return cast(CaseCount, plugin)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.by_run:
            return
        terminalreporter.section("OpenAPI contract: cases sent and checked")
        for run, cases in sorted(self.by_run.items()):
            terminalreporter.write_line(f"{run}: {cases}")
        terminalreporter.write_line(f"total: {sum(self.by_run.values())}")


@pytest.fixture
def case_count(request: pytest.FixtureRequest) -> CaseCount:
    return CaseCount.of(request.config)


def _token(client: Any, email: str, password: str) -> str:
    response = client.post("/api/v1/auth/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return f"Bearer {response.json()['access_token']}"


@pytest.fixture
def contract(database_url: str, stripe_fake: StripeFake) -> Iterator[dict[str, Any]]:
    # No catalog cache: the stateful test empties the tables under the app between sequences.
    app = create_app(payment_settings(database_url, stripe_fake, product_cache_ttl_seconds=0))
    config = contract_config(MAX_EXAMPLES)
    with asgi.get_client(app) as client:
        registered = client.post(
            "/api/v1/auth/register", json={"email": USER_EMAIL, "password": USER_PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        tokens = {
            "admin": _token(client, ADMIN_EMAIL, ADMIN_PASSWORD),
            "user": _token(client, USER_EMAIL, USER_PASSWORD),
        }
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
        yield {
            "schema": schema,
            "tokens": tokens,
            "client": client,
            "app": app,
            "database_url": database_url,
        }
    # (Schemathesis ends the app's lifespan after each test: every operation gets a fresh app.)
    asyncio.run(empty_all_tables(database_url))


def _operations() -> list[tuple[str, str]]:
    """Every operation of the schema (the same for every settings; only constraints differ)."""
    spec = create_app(make_settings("sqlite+aiosqlite:///:memory:")).openapi()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


def _role(method: str, path: str) -> str:
    if path.startswith(ADMIN_PREFIXES) or (method, path) in ADMIN_OPERATIONS:
        return "admin"
    return "user"


def _excluded(method: str, path: str) -> list[Any]:
    return [positive_data_acceptance] if (method, path) in SECRET_OR_OPAQUE_INPUT else []


FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}
STATEFUL_STEPS = 6


def _authorization(token: str | None) -> dict[str, str]:
    return {"Authorization": token} if token is not None else {}


def check_operation(
    schema: Any,
    method: str,
    path: str,
    token: Callable[[], str | None],
    counted: Callable[[], None],
    *,
    max_examples: int,
) -> None:
    """Send `max_examples` generated requests (valid and invalid) to one operation, each with the
    Authorization `token()` gives (None: none), and run every check on each answer."""
    operation = schema[path][method]
    strategy = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )
    excluded = _excluded(method, path)

    @given(case=strategy)
    @settings(max_examples=max_examples, **FUZZ_SETTINGS)
    def check(case: schemathesis.Case) -> None:
        counted()
        case.call_and_validate(headers=_authorization(token()), excluded_checks=excluded)

    check()


def run_sequences(
    schema: Any,
    fresh_start: Callable[[], str | None],
    counted: Callable[[], None],
    *,
    max_examples: int,
) -> None:
    """Stateful: sequences of calls along the links schemathesis infers, each call checked, with
    the checks that need a history (use_after_free, ensure_resource_availability).

    `fresh_start()` brings back the same starting state before every sequence and gives the
    Authorization to call with (None: anonymous): Hypothesis replays what it generated and
    expects the same path."""
    machine = schema.as_state_machine()
    assert machine.bundles, "no links between operations: nothing to test statefully"

    class Calls(machine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            self.headers = _authorization(fresh_start())

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": self.headers}

        def validate_response(
            self,
            response: Any,
            case: schemathesis.Case,
            additional_checks: Any = None,
            **kwargs: Any,
        ) -> None:
            counted()
            operation = (case.operation.method.upper(), case.operation.path)
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=_excluded(*operation),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    run_state_machine_as_test(
        Calls,
        settings=settings(
            max_examples=max_examples, stateful_step_count=STATEFUL_STEPS, **FUZZ_SETTINGS
        ),
    )


@pytest.mark.parametrize(("method", "path"), _operations())
def test_the_api_does_what_its_schema_says(
    method: str, path: str, contract: dict[str, Any], case_count: CaseCount
) -> None:
    role = _role(method, path)

    def token() -> str:
        if path == "/api/v1/auth/logout":
            # Logging out ends the session of its token: each attempt gets a session of its own.
            return _token(contract["client"], USER_EMAIL, USER_PASSWORD)
        return str(contract["tokens"][role])

    def counted() -> None:
        case_count.by_run["in-process, stateless"] += 1

    check_operation(contract["schema"], method, path, token, counted, max_examples=MAX_EXAMPLES)


async def test_an_integer_is_what_json_schema_calls_one(client: AsyncClient) -> None:
    """The schema says `integer`: 3.0 is one (JSON Schema), 3.5 and "3" are not."""
    recommend = "/api/v1/products/recommendations"
    for limit, status in ((3.0, 200), (3, 200), (3.5, 422), ("3", 422), (True, 422)):
        response = await client.post(recommend, json={"categories": ["books"], "limit": limit})
        assert response.status_code == status, (limit, response.text)


STATEFUL_EXAMPLES = MAX_EXAMPLES * 2


def test_sequences_of_calls_keep_their_promises(
    contract: dict[str, Any], case_count: CaseCount
) -> None:
    """What one call creates, the next ones read, change and delete; every sequence starts from
    the tables emptied, the first administrator back and a fresh administrator's token."""
    app, client = contract["app"], contract["client"]
    portal = asgi._get_portal()  # the event loop the app runs on

    async def fresh_state() -> None:
        await empty_all_tables(contract["database_url"])
        await bootstrap(app.state.container)

    def fresh_start() -> str:
        portal.call(fresh_state)
        return _token(client, ADMIN_EMAIL, ADMIN_PASSWORD)

    def counted() -> None:
        case_count.by_run["in-process, stateful"] += 1

    run_sequences(contract["schema"], fresh_start, counted, max_examples=STATEFUL_EXAMPLES)


async def test_lengths_count_the_text_as_sent_and_the_rule_judges_it_trimmed(
    client: AsyncClient, user_headers: dict[str, str]
) -> None:
    """maxLength counts the string sent (white space too); what is stored is trimmed."""
    resources = "/api/v1/resources"
    too_long = {"name": "Notes", "description": "x" * 5_000 + " "}
    refused = await client.post(resources, json=too_long, headers=user_headers)
    assert refused.status_code == 422, refused.text
    padded = {"name": "\tNotes \u3000", "description": " one\ntwo\t"}
    created = await client.post(resources, json=padded, headers=user_headers)
    assert created.status_code == 201, created.text
    assert (created.json()["name"], created.json()["description"]) == ("Notes", "one\ntwo")
