"""One Strata deployment of a test's own: a private PostgreSQL and Redis, a fault proxy in front of
each, the Stripe stand-in, `strata serve` and `strata worker` configured as production runs them
(bench/servers.py) but reaching their database and Redis only through the proxies."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from app.core.config import Settings
from tests.chaos.fault_proxy import FaultProxy
from tests.chaos.servers import (
    HOST,
    STRATA,
    ChaosSetupError,
    PrivatePostgres,
    PrivateRedis,
    StrataProcess,
    free_port,
    stop_together,
    tail,
)
from tests.stripe_fake import StripeFake

DATABASE = "strata_chaos"
UNREACHABLE_RATE_LIMIT = "100000000/minute"  # the load must never meet a 429
READY_TIMEOUT_S = 60.0
ADMIN_EMAIL = "chaos-admin@example.com"


@dataclass
class ChaosStack:
    postgres: PrivatePostgres
    redis: PrivateRedis
    postgres_proxy: FaultProxy
    redis_proxy: FaultProxy
    stripe: StripeFake
    api: StrataProcess
    worker: StrataProcess
    workdir: Path

    @property
    def direct_dsn(self) -> str:
        """The database itself, past the proxy: where a test checks what was really stored."""
        return f"postgresql://postgres@{HOST}:{self.postgres.port}/{DATABASE}"

    @property
    def mail_dir(self) -> Path:
        return self.workdir / "mail"

    def restore(self) -> None:
        """Back to a healthy deployment before a case: proxies passing, every process up."""
        self.postgres_proxy.clear()
        self.redis_proxy.clear()
        # A case that failed halfway may have left a server down.
        if not self.postgres.running:
            self.postgres.start()
        if not self.redis.running:
            self.redis.start()
        for process in (self.api, self.worker):
            if not process.running:
                process.start()
        self.api.wait_live()
        self.wait_ready()

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Seconds until /health/ready answers 200."""
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api.base_url}/health/ready", timeout=3).status_code == 200:
                    return time.monotonic() - start
            time.sleep(0.1)
        raise ChaosSetupError(f"not ready after {timeout_s:.0f} s:\n{tail(self.api.log_path)}")

    def access_token(self, email: str, password: str) -> str:
        with httpx.Client(base_url=self.api.base_url, timeout=15) as client:
            registered = client.post(
                "/api/v1/auth/register", json={"email": email, "password": password}
            )
            if registered.status_code not in (201, 409):
                raise ChaosSetupError(f"register: {registered.status_code} {registered.text}")
            login = client.post(
                "/api/v1/auth/login", data={"username": email, "password": password}
            )
            if login.status_code != 200:
                raise ChaosSetupError(f"login: {login.status_code} {login.text}")
            return str(login.json()["access_token"])


def _environment(
    stack_dir: Path, database_url: str, redis_url: str, stripe: StripeFake
) -> dict[str, str]:
    env = dict(os.environ)
    # Nothing from the caller's shell may change the deployment (a REDIS_URL, a DEBUG log level).
    for name in Settings.model_fields:
        env.pop(name.upper(), None)
    env.update(
        {
            "ENVIRONMENT": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "FILE_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            # A dependency that does not answer fails a request after 3 s, not production's 10:
            # each case stays short, and the 503 path is what is tested either way.
            "DATABASE_TIMEOUT_SECONDS": "3",
            "HOST": HOST,
            "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
            "FIRST_ADMIN_PASSWORD": secrets.token_urlsafe(18),
            "SEED_DEMO": "false",
            "LOG_LEVEL": "WARNING",
            # Cheap hashes: registrations are part of the load on two shared CPUs.
            "PASSWORD_HASH_MEMORY_KIB": "1024",
            "PASSWORD_HASH_ITERATIONS": "1",
            "VAR_DIR": str(stack_dir / "var"),
            "MAIL_DIR": str(stack_dir / "mail"),
            "STORAGE_DIR": str(stack_dir / "files"),
            "MAX_SESSIONS_PER_USER": "1000",
            **{f"RATE_LIMIT_{name.upper()}": UNREACHABLE_RATE_LIMIT for name in _RATE_LIMITS},
            "STRIPE_SECRET_KEY": stripe.api_key,
            "STRIPE_API_BASE": stripe.url,
            "STRIPE_WEBHOOK_SECRET": f"whsec_{secrets.token_hex(24)}",
        }
    )
    return env


_RATE_LIMITS = ("login_account", "login_ip", "register_ip", "forgot_ip", "mfa", "api")


def _create_database(postgres: PrivatePostgres) -> None:
    async def create() -> None:
        connection = await asyncpg.connect(f"postgresql://postgres@{HOST}:{postgres.port}/postgres")
        try:
            await connection.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            await connection.close()

    asyncio.run(create())  # set-up runs before, and outside, the test's loop


@contextlib.contextmanager
def chaos_stack(workdir: Path) -> Iterator[ChaosStack]:
    """Everything started from the calling (main) thread, and everything stopped afterwards."""
    with contextlib.ExitStack() as cleanup:
        postgres = PrivatePostgres()
        cleanup.callback(postgres.close)
        postgres.initialize().start()
        redis = PrivateRedis()
        cleanup.callback(redis.close)
        redis.start()
        postgres_proxy = cleanup.enter_context(FaultProxy(postgres.port, name="postgres-proxy"))
        redis_proxy = cleanup.enter_context(FaultProxy(redis.port, name="redis-proxy"))
        stripe = StripeFake(f"sk_test_chaos_{secrets.token_hex(8)}").start()
        cleanup.callback(stripe.stop)

        _create_database(postgres)
        env = _environment(
            workdir,
            f"postgresql+asyncpg://postgres@{HOST}:{postgres_proxy.port}/{DATABASE}",
            f"redis://{HOST}:{redis_proxy.port}/0",
            stripe,
        )
        migrate = subprocess.run(  # noqa: S603 - our own CLI
            [str(STRATA), "migrate"],
            env={
                **env,
                "DATABASE_URL": env["DATABASE_URL"].replace(
                    f":{postgres_proxy.port}/", f":{postgres.port}/"
                ),
            },
            cwd=workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        if migrate.returncode != 0:
            raise ChaosSetupError(f"strata migrate:\n{migrate.stdout}\n{migrate.stderr}")

        api = StrataProcess("serve", env, workdir, port=free_port())
        worker = StrataProcess("worker", env, workdir)
        cleanup.callback(stop_together, [api, worker])
        api.start()
        worker.start()
        stack = ChaosStack(
            postgres, redis, postgres_proxy, redis_proxy, stripe, api, worker, workdir
        )
        api.wait_live(READY_TIMEOUT_S)
        stack.wait_ready()
        yield stack
