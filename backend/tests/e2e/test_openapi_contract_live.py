"""Issue 14: the published OpenAPI schema says what the running server does, over real HTTP.

The same contract as test_openapi_contract.py (every check schemathesis has, then sequences of
calls), but against `strata serve` as a deployment runs it (ENVIRONMENT=production, its own
secrets, rate limiting on with limits no run reaches), in its own process, on SQLite and on
PostgreSQL with Redis; payments go to the local Stripe stand-in. The schema is the one the server
publishes at /openapi.json. Every operation is called as an administrator, as a plain user and
anonymously: each role's refusals (401, 403) must be documented too.

Every check schemathesis has is on. Three act only on the cases of schemathesis' coverage phase
(missing_required_header, unsupported_method, allow_header_conformance): that phase runs with
STRATA_FUZZ_COVERAGE=1 (`make fuzz`). object_level_authorization needs identities declared in an
`[auth.wfc]` configuration, which this suite does not have: it has nothing to judge here.

Bounded by default (STRATA_FUZZ_EXAMPLES examples per operation and role, 2 unless set), so that
it runs inside `make test`; `make fuzz` runs it longer. The number of cases sent is printed at the
end of the session (CaseCount).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import schemathesis
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import allow_header_conformance, unsupported_method

from app.core.config import Settings
from app.presentation.container import Container
from app.presentation.features.user import ensure_first_admin
from tests.conftest import empty_all_tables
from tests.databases import registered_features
from tests.e2e.test_openapi_contract import (
    USER_EMAIL,
    CaseCount,
    _excluded,
    _operations,
    check_operation,
    contract_config,
    run_sequences,
)
from tests.stripe_fake import StripeFake

LIVE_EXAMPLES = int(os.environ.get("STRATA_FUZZ_EXAMPLES", "2"))
# Schemathesis' coverage phase (boundary values, missing required headers, methods the path does
# not have, OPTIONS): about 1,750 cases per role and database, whatever STRATA_FUZZ_EXAMPLES says;
# `make fuzz` only.
COVERAGE_PHASE = os.environ.get("STRATA_FUZZ_COVERAGE") == "1"
STATEFUL_EXAMPLES = LIVE_EXAMPLES * 2
ROLES = ("admin", "user", "anonymous")
HOST = "127.0.0.1"
# The live-server suites own Redis databases 1 and 2 (tests/redis_databases.py): this module, 1.
REDIS_URL = "redis://127.0.0.1:6379/1"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
REQUEST_TIMEOUT_S = 30.0
ADMIN_EMAIL = "live-admin@example.com"
ADMIN_PASSWORD = secrets.token_urlsafe(18)
USER_PASSWORD = "a long and unguessable passphrase for the live contract"
WEBHOOK_SECRET = f"whsec_{secrets.token_hex(24)}"
# Limits no run reaches: a 429 would stand in for the answer the contract is about.
UNREACHABLE_LIMIT = "100000000/minute"
RATE_LIMIT_SETTINGS = (
    "rate_limit_login_account",
    "rate_limit_login_ip",
    "rate_limit_register_ip",
    "rate_limit_forgot_ip",
    "rate_limit_mfa",
    "rate_limit_api",
)


def server_settings(
    database_url: str, redis_url: str | None, stripe: StripeFake, workdir: Path
) -> dict[str, str]:
    """The settings the server runs with, by field name (as environment variables: upper-cased)."""
    values = {
        "environment": "production",
        "secret_key": secrets.token_hex(32),
        "file_encryption_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "database_url": database_url,
        "host": HOST,
        "first_admin_email": ADMIN_EMAIL,
        "first_admin_password": ADMIN_PASSWORD,
        "seed_demo": "false",
        "log_level": "WARNING",
        "var_dir": str(workdir / "var"),
        "storage_dir": str(workdir / "var" / "files"),
        "mail_dir": str(workdir / "var" / "mail"),
        # Cheap Argon2: every request of the logout operation logs in, every sequence registers.
        # The cost changes how long a hash takes, not what the API answers.
        "password_hash_memory_kib": "1024",
        "password_hash_iterations": "1",
        # Every test logs in afresh; older sessions must not push the current one out.
        "max_sessions_per_user": "1000",
        # No catalog cache: the stateful test empties the tables under the server.
        "product_cache_ttl_seconds": "0",
        **dict.fromkeys(RATE_LIMIT_SETTINGS, UNREACHABLE_LIMIT),
        "stripe_secret_key": stripe.api_key,
        "stripe_api_base": stripe.url,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_retry_base_delay_seconds": "0.01",
        "stripe_retry_max_delay_seconds": "0.05",
    }
    if redis_url is not None:
        values["redis_url"] = redis_url
    return values


def server_env(settings: dict[str, str], port: int) -> dict[str, str]:
    env = dict(os.environ)
    # Nothing from the caller's shell (a REDIS_URL, a DEBUG log level) may change the server.
    for name in Settings.model_fields:
        env.pop(name.upper(), None)
    for name in list(env):
        if name.startswith("FEATURES__"):
            env.pop(name)
    env.update({name.upper(): value for name, value in settings.items()})
    env["PORT"] = str(port)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def strata_serve(env: dict[str, str], port: int, workdir: Path) -> Iterator[str]:
    """`strata serve` in a process of its own, awaited until /health/ready answers 200; its base
    URL. Always stopped afterwards (SIGTERM: uvicorn shuts down gracefully; SIGKILL if not)."""
    log_path = workdir / "strata-serve.log"
    strata = Path(sys.executable).parent / "strata"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
            [str(strata), "serve", "--workers", "1"],
            env=env,
            cwd=workdir,  # away from the checkout, so no developer .env is read
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches pytest, which stops the server in order
        )
    base_url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"strata serve exited with {process.returncode}:\n{_tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/health/ready", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"strata serve not ready after {READY_TIMEOUT_S} s:\n{_tail(log_path)}")
            time.sleep(0.1)
        yield base_url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def flushed_redis(url: str | None) -> Iterator[None]:
    """Redis database `url` empty before and after (nothing of ours left behind)."""
    if url is None:
        yield
        return
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
        yield
        client.flushdb()
    finally:
        client.close()


@dataclass
class LiveServer:
    backend: str
    base_url: str
    database_url: str
    schema: Any
    settings: Settings  # the server's, for an in-process container on the same stores
    coverage_cases: dict[tuple[str, str], list[schemathesis.Case]] = field(default_factory=dict)

    def token(self, email: str, password: str) -> str:
        response = httpx.post(
            f"{self.base_url}/api/v1/auth/login",
            data={"username": email, "password": password},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 200, response.text
        return f"Bearer {response.json()['access_token']}"

    def user_token(self) -> str:
        """A fresh token of the plain user, registering the user if it is not there (yet or any
        more: the stateful test empties the tables; some requests may delete it)."""
        response = httpx.post(
            f"{self.base_url}/api/v1/auth/register",
            json={"email": USER_EMAIL, "password": USER_PASSWORD},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code in (201, 409), response.text
        return self.token(USER_EMAIL, USER_PASSWORD)

    def role_token(self, role: str) -> str | None:
        if role == "admin":
            return self.token(ADMIN_EMAIL, ADMIN_PASSWORD)
        if role == "user":
            return self.user_token()
        return None

    def reset(self) -> None:
        """Back to a fresh installation: every table emptied, the first administrator back.

        Only the server's own start-up step for the administrator runs here, in-process, on a
        container built and closed for it: the whole bootstrap would also start a job worker in
        this process, whose sweeps, paused with this event loop between resets, held SQLite's
        write lock and made the server answer 503."""

        async def fresh_state() -> None:
            await empty_all_tables(self.database_url)
            container = Container.build(self.settings, registered_features())
            try:
                await ensure_first_admin(container)
            finally:
                await container.close()

        asyncio.run(fresh_state())


@pytest.fixture(scope="module")
def live_server(
    backend: str,
    database_url: str,
    stripe_server: StripeFake,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp(f"live-{backend}")
    redis_url = REDIS_URL if backend != "sqlite" else None
    settings_values = server_settings(database_url, redis_url, stripe_server, workdir)
    settings = Settings(_env_file=None, **settings_values)  # type: ignore[arg-type]
    port = free_port()
    with (
        flushed_redis(redis_url),
        strata_serve(server_env(settings_values, port), port, workdir) as base_url,
    ):
        schema = schemathesis.openapi.from_url(
            f"{base_url}/openapi.json",
            config=contract_config(LIVE_EXAMPLES),
            timeout=REQUEST_TIMEOUT_S,
        )
        try:
            yield LiveServer(backend, base_url, database_url, schema, settings)
        finally:
            # The server's rows go (it is still up: its pool holds no transaction between calls).
            asyncio.run(empty_all_tables(database_url))


# The administrator's requests to the access policy may change it for real (the coverage phase
# sends the schema's examples, which name real rules): the next test must find the policy the
# migrations stored, or a plain user's requests are refused for a reason no schema states.
ACCESS_POLICY_WRITES = {("POST", "/api/v1/admin/policies"), ("DELETE", "/api/v1/admin/policies")}


@contextlib.contextmanager
def policy_restored_after(live: LiveServer, method: str, path: str, role: str) -> Iterator[None]:
    try:
        yield
    finally:
        if role == "admin" and (method, path) in ACCESS_POLICY_WRITES:
            live.reset()


# The path /api/v1/products/recommendations is also /api/v1/products/{product_id} with the id
# "recommendations": GET, PATCH and DELETE on it reach that operation (422: the id is no UUID),
# and OPTIONS advertises the methods of both. Routing is right; the templates overlap.
OVERLAPPING_PATH_CHECKS = [unsupported_method, allow_header_conformance]


def _excluded_live(method: str, path: str) -> list[Any]:
    return OVERLAPPING_PATH_CHECKS if path == "/api/v1/products/recommendations" else []


@pytest.fixture
def case_count(request: pytest.FixtureRequest) -> CaseCount:
    return CaseCount.of(request.config)


@pytest.fixture
def live(live_server: LiveServer, stripe_server: StripeFake) -> LiveServer:
    stripe_server.reset()  # no intents of another test's
    return live_server


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), _operations())
def test_the_live_api_does_what_its_schema_says(
    method: str, path: str, role: str, live: LiveServer, case_count: CaseCount
) -> None:
    role_token = live.role_token(role)

    def token() -> str | None:
        if path == "/api/v1/auth/logout" and role != "anonymous":
            # Logging out ends the session of its token: each attempt gets a session of its own.
            return live.role_token(role)
        return role_token

    def counted() -> None:
        case_count.by_run[f"live {live.backend}, {role}, stateless"] += 1

    with policy_restored_after(live, method, path, role):
        check_operation(live.schema, method, path, token, counted, max_examples=LIVE_EXAMPLES)


@pytest.mark.parametrize("role", ROLES)
def test_sequences_of_live_calls_keep_their_promises(
    role: str, live: LiveServer, case_count: CaseCount
) -> None:
    """Every sequence starts from a fresh installation and a fresh token of `role`."""

    def fresh_start() -> str | None:
        live.reset()
        return live.role_token(role)

    def counted() -> None:
        case_count.by_run[f"live {live.backend}, {role}, stateful"] += 1

    try:
        run_sequences(live.schema, fresh_start, counted, max_examples=STATEFUL_EXAMPLES)
    finally:
        live.reset()  # the next test finds the installation as the server left it at start


def coverage_cases(live: LiveServer, method: str, path: str) -> list[schemathesis.Case]:
    """The coverage phase's cases for one operation, generated once per server (every role sends
    the same ones)."""
    key = (method, path)
    if key not in live.coverage_cases:
        operation = live.schema[path][method]
        live.coverage_cases[key] = list(
            live.schema.iter_coverage_cases(
                operation,
                generation_modes=list(schemathesis.GenerationMode),
                generation_config=live.schema.config.generation_for(
                    operation=operation, phase="coverage"
                ),
            )
        )
    return live.coverage_cases[key]


@pytest.mark.skipif(not COVERAGE_PHASE, reason="the coverage phase runs in `make fuzz` only")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), _operations())
def test_the_live_api_answers_the_coverage_phase_as_its_schema_says(
    method: str, path: str, role: str, live: LiveServer, case_count: CaseCount
) -> None:
    """Where missing_required_header, unsupported_method and allow_header_conformance have
    something to judge: only the coverage phase makes such requests."""
    with policy_restored_after(live, method, path, role):
        failures = send_coverage_cases(live, method, path, role, case_count)
    assert not failures, "\n\n".join(failures)


def send_coverage_cases(
    live: LiveServer,
    method: str,
    path: str,
    role: str,
    case_count: CaseCount,
) -> list[str]:
    """Send every coverage case of one operation as `role`; the failures, each as reported."""
    excluded = _excluded(method, path) + _excluded_live(method, path)
    failures = []
    role_token = live.role_token(role)
    for case in coverage_cases(live, method, path):
        token = role_token
        if path == "/api/v1/auth/logout" and role != "anonymous":
            token = live.role_token(role)  # logging out ends its session: a fresh one each time
        headers = {"Authorization": token} if token else {}
        case_count.by_run[f"live {live.backend}, {role}, coverage"] += 1
        try:
            case.call_and_validate(headers=headers, excluded_checks=excluded)
        except (Failure, FailureGroup) as failure:  # every case is sent; one report of them all
            failures.append(str(failure))
    return failures
