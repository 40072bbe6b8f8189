"""Strata in its distributed shape on this machine: a fresh PostgreSQL database, a Redis database of
its own, `strata migrate` and `strata seed-demo`, `strata serve` with several worker processes, one
`strata worker` and the local Stripe stand-in. Everything started here is stopped, dropped or
flushed on the way out, whatever happened."""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from bench.config import STOP_TIMEOUT_S, VENV_BIN, BenchError, log
from bench.databases import check_postgres, postgres_app, seed
from bench.servers import App, Server, StripeFake, free_port, running_server, stripe_fake


@dataclass(frozen=True, slots=True)
class Stack:
    api: Server
    stripe: StripeFake
    worker_log: Path


@contextlib.contextmanager
def distributed_stack(
    workdir: Path,
    *,
    postgres_url: str,
    redis_url: str,
    api_workers: int,
    products: int,
) -> Iterator[Stack]:
    check_postgres(postgres_url)
    with (
        stripe_fake(workdir) as stripe,
        postgres_app(workdir, postgres_url, stripe) as postgres,
        flushed_redis(redis_url),
    ):
        app = dataclasses.replace(postgres, env={**postgres.env, "REDIS_URL": redis_url})
        log("migrating and seeding the database")
        app.strata("migrate")
        seed(app, products, seed_value=14)
        log(f"starting strata serve --workers {api_workers} and strata worker")
        with strata_worker(app) as worker, strata_serve(app, api_workers) as api:
            # The worker has no health endpoint: by the time the API is ready (seconds), a
            # worker with a bad setting or no Redis has exited.
            if worker.poll() is not None:
                raise BenchError(
                    f"strata worker exited with {worker.returncode}:\n{_tail(worker_log(app))}"
                )
            yield Stack(api=api, stripe=stripe, worker_log=worker_log(app))


@contextlib.contextmanager
def flushed_redis(url: str) -> Iterator[None]:
    """The Redis database of `url`, emptied before (what an earlier run left) and after."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
        yield
    finally:
        try:
            client.flushdb()
        finally:
            client.close()


def strata_serve(app: App, workers: int) -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    command = [str(_strata()), "serve", "--workers", str(workers)]
    env = {**app.env, "PORT": str(port)}
    return running_server(command, env, port, "/health/ready", app.workdir / "serve.log")


def worker_log(app: App) -> Path:
    return app.workdir / "worker.log"


@contextlib.contextmanager
def strata_worker(app: App) -> Iterator[subprocess.Popen[bytes]]:
    """`strata worker`, stopped with SIGTERM (it drains its running jobs), killed if it lingers."""
    with worker_log(app).open("ab") as log_file:
        process = subprocess.Popen(
            [str(_strata()), "worker"],
            env=dict(app.env),
            cwd=app.workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C reaches only us; we stop it in order
        )
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _strata() -> Path:
    return VENV_BIN / "strata"


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
