"""What every part of the benchmark shares: where things are, fixed sizes and timeouts, the
environment knobs (Config), the one error type and the progress log."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND_DIR = ROOT / "backend"  # where `tests.stripe_fake` is imported from
LUA_DIR = ROOT / "bench" / "lua"
RESULTS_DIR = ROOT / "bench" / "results"
# The venv's bin directory, not resolved: resolving would follow the python symlink out of the venv.
VENV_BIN = Path(sys.executable).parent

HOST = "127.0.0.1"  # every server and every request stays on this machine
PRODUCTS = 10_000
BIG_PRODUCTS = 100_000
PRODUCT_ID_SAMPLE = 16
# Login is measured with BENCH_CONNECTIONS logins in flight (32 by default) and again with this many.
LOGIN_IN_FLIGHT = 64
HEALTH_CONNECTIONS = 4  # the second wrk on /health/live beside the logins
# The rows measured again at BENCH_LOW_CONNECTIONS (a server that is not saturated) run at most
# this long each (after the usual warm-up).
LOW_CONNECTIONS_MAX_DURATION_S = 10
RECOMMENDATION_BODY = '{"categories": ["books"], "price_range": "low", "limit": 10}'
PAYMENT_INTENT_BODY = '{"amount_cents": 1000, "currency": "usd"}'
# Payment intents made before the webhook rows, that their events are about (rotating over them).
WEBHOOK_PAYMENTS = 16
# How far a webhook's signature timestamp may be from the server's clock (Stripe's and Strata's
# tolerance): the events are signed just before each run, so a run must end within it.
WEBHOOK_TOLERANCE_S = 300

# The catalog read cache (PRODUCT_CACHE_TTL_SECONDS), set explicitly on every server so that the
# report can state it: the application's default for the main pass, off for the second pass, where
# every catalog read reaches the database.
CATALOG_CACHE_TTL_S = 5
CATALOG_CACHE_OFF = 0

# Generous: 64 logins queue behind two Argon2 hashes at a time, so seconds are expected; a request
# that still times out is counted as an error rather than silently left out of the percentiles.
WRK_TIMEOUT = "10s"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
MEMORY_SAMPLE_INTERVAL_S = 0.2
# "Idle": at most one clock tick (10 ms) of CPU per 100 ms, three samples in a row.
IDLE_SAMPLE_INTERVAL_S = 0.1
IDLE_MAX_TICKS = 1
IDLE_QUIET_SAMPLES = 3
IDLE_TIMEOUT_S = 60.0

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
# Passes that BENCH_ONLY may name, to run that pass alone (a full run takes about 20 minutes).
SINGLE_PASSES = ("pipelines",)


class BenchError(Exception):
    """The benchmark could not run (a tool, a database or a server is missing or broken)."""


def log(message: str) -> None:
    # Progress goes to stderr: stdout carries only the final report.
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Config:
    """The environment knobs (see bench/README.md)."""

    duration_s: int
    warmup_s: int
    connections: int
    low_connections: int  # 0: no rows at low connections
    databases: tuple[str, ...]
    postgres_url: str
    jobs: bool  # the jobs and events pass (bench/jobs.py)
    pipelines: bool  # the pipelines pass (bench/pipelines/)
    only: str | None  # run this one pass and nothing else

    @classmethod
    def from_env(cls) -> Config:
        databases = tuple(
            name.strip().lower()
            for name in os.environ.get("BENCH_DATABASES", "sqlite,postgres").split(",")
            if name.strip()
        )
        unknown = set(databases) - set(DATABASE_NAMES)
        if unknown or not databases:
            raise BenchError(f"BENCH_DATABASES: choose from {', '.join(DATABASE_NAMES)}")
        only = os.environ.get("BENCH_ONLY", "").strip().lower() or None
        if only is not None and only not in SINGLE_PASSES:
            raise BenchError(f"BENCH_ONLY: choose from {', '.join(SINGLE_PASSES)}")
        return cls(
            duration_s=_env_int("BENCH_DURATION", 15, minimum=1),
            warmup_s=_env_int("BENCH_WARMUP", 3, minimum=0),
            connections=_env_int("BENCH_CONNECTIONS", 32, minimum=1),
            low_connections=_env_int("BENCH_LOW_CONNECTIONS", 4, minimum=0),
            databases=databases,
            postgres_url=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
            jobs=os.environ.get("BENCH_JOBS", "1") != "0",
            pipelines=os.environ.get("BENCH_PIPELINES", "1") != "0",
            only=only,
        )

    @property
    def low_duration_s(self) -> int:
        """Each measured run at low connections: the duration, at most 10 s."""
        return min(self.duration_s, LOW_CONNECTIONS_MAX_DURATION_S)

    @property
    def login_in_flight(self) -> tuple[int, ...]:
        """Logins in flight of the login rows: BENCH_CONNECTIONS, then 64."""
        return tuple(sorted({self.connections, LOGIN_IN_FLIGHT}))


def _env_int(name: str, default: int, *, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BenchError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise BenchError(f"{name} must be at least {minimum}")
    return value
