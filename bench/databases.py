"""The database each pass runs on: a fresh SQLite file or a PostgreSQL database of its own (always
dropped afterwards), and the demo catalog seeded into it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url

from bench.config import BenchError, Config, log
from bench.servers import App, StripeFake, app_env


def database_app(
    key: str, workdir: Path, config: Config, stripe: StripeFake
) -> contextlib.AbstractContextManager[App]:
    if key == "postgres":
        return postgres_app(workdir, config.postgres_url, stripe)
    return sqlite_app(workdir, stripe)


@contextlib.contextmanager
def sqlite_app(workdir: Path, stripe: StripeFake) -> Iterator[App]:
    directory = workdir / "sqlite"
    directory.mkdir()
    yield app_env(f"sqlite+aiosqlite:///{directory / 'strata.db'}", directory, stripe)


@contextlib.contextmanager
def postgres_app(workdir: Path, admin_url: str, stripe: StripeFake) -> Iterator[App]:
    """A database of its own, created here and always dropped afterwards."""
    directory = workdir / "postgres"
    directory.mkdir()
    name = f"strata_bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = _asyncpg_dsn(admin_url)
    _postgres(admin, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
        yield app_env(url.render_as_string(hide_password=False), directory, stripe)
    finally:
        # FORCE: a server killed half-way may have left connections behind.
        _postgres(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def scratch_database(key: str, workdir: Path, admin_url: str) -> Iterator[str]:
    """The URL of an empty database for one pass (the jobs pass), always removed afterwards."""
    if key != "postgres":
        yield f"sqlite+aiosqlite:///{workdir / f'scratch-{secrets.token_hex(4)}.db'}"
        return
    name = f"strata_bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = _asyncpg_dsn(admin_url)
    _postgres(admin, f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(admin_url)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        _postgres(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check_postgres(admin_url: str) -> None:
    try:
        _postgres(_asyncpg_dsn(admin_url), "SELECT 1")
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        raise BenchError(
            f"PostgreSQL does not answer at {_redacted(admin_url)} ({error}); start it, set "
            "BENCH_POSTGRES_URL, or run SQLite only with BENCH_DATABASES=sqlite"
        ) from error


def seed(app: App, products: int, seed_value: int) -> None:
    log(f"  seeding {products:,} products")
    output = app.strata("seed-demo", "--products", str(products), "--seed", str(seed_value))
    if f"{products} products added" not in output:
        raise BenchError(f"seed-demo did not report {products} products:\n{output}")


def _postgres(dsn: str, statement: str) -> None:
    async def execute() -> None:
        connection = await asyncpg.connect(dsn, timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute())


def _asyncpg_dsn(url: str) -> str:
    parsed: URL = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
