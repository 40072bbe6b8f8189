"""`make bench`: load-test Strata as a user would run it, beside a bare FastAPI ceiling.

For SQLite and PostgreSQL in turn: a fresh database, `strata migrate`, `strata seed-demo` with
10,000 products, then `strata serve` (one uvicorn worker, no access log) driven by wrk for each
endpoint after a warm-up (at 32 connections, then again at 4), with the catalog read cache at its
default (5 s); then, on a restarted server with the cache off, the catalog reads again. In the
same run a bare FastAPI app (bench/baseline_app.py) under the same server settings gives the
ceiling. Also: login at 32 and 64 in flight with /health/live measured beside it, each compared
with as many bare Argon2id verifications at once (bench/hashes.py), payment intents and Stripe webhooks against a local Stripe
stand-in (backend/tests/stripe_fake.py), the server's resident memory, and recommendations over
100,000 products (SQLite).

Targets are printed beside the measurements, never asserted: the exit status says whether the
benchmark ran, not whether the application is fast enough.

Knobs (environment): BENCH_DURATION (s, default 15), BENCH_WARMUP (s, default 3),
BENCH_CONNECTIONS (default 32), BENCH_LOW_CONNECTIONS (default 4; 0: no low-connection rows),
BENCH_DATABASES (default "sqlite,postgres"),
BENCH_POSTGRES_URL (an existing database to connect to for CREATE/DROP DATABASE; default
postgresql://postgres@127.0.0.1:5432/postgres), BENCH_JOBS (default 1: the jobs and events pass,
bench/jobs.py; 0 skips it), BENCH_REDIS_URL (its Redis database, flushed), BENCH_PIPELINES
(default 1: the pipelines pass, bench/pipelines/; 0 skips it), BENCH_ONLY=pipelines (that pass
alone: no wrk, no servers). See bench/README.md.
"""

from __future__ import annotations

import signal
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from bench.config import RESULTS_DIR, BenchError, Config, log
from bench.databases import check_postgres, database_app, scratch_database
from bench.endpoints import CEILING
from bench.jobs import jobs_pass
from bench.measure import measure
from bench.passes import big_catalog_pass, main_pass, uncached_pass
from bench.pipelines import check_pipelines, pipelines_pass
from bench.provenance import CodeState
from bench.records import DatabaseReport
from bench.report import Run, render_markdown, write_results
from bench.servers import baseline_server, stripe_fake
from bench.wrk import Load, ensure_wrk, wrk_version


def bench(config: Config) -> Run:
    if config.pipelines or config.only == "pipelines":
        check_pipelines()
    if config.only == "pipelines":
        run = Run(config, datetime.now(UTC), "(not run)", CodeState.now())
        run.pipelines = pipelines_pass()
        return _finished(run)
    wrk = ensure_wrk()
    if "postgres" in config.databases:
        check_postgres(config.postgres_url)  # fail before minutes of SQLite work, not after
    run = Run(config, datetime.now(UTC), wrk_version(wrk), CodeState.now())
    with tempfile.TemporaryDirectory(prefix="strata-bench-") as temporary:
        workdir = Path(temporary)
        log("[ceiling] bare FastAPI")
        with baseline_server(workdir) as server:
            load = Load(wrk, config.connections, config.duration_s, {})
            ceiling, _ = measure(server, load, config.warmup_s, CEILING)
        run.ceiling = ceiling
        # One Stripe stand-in for the whole run: every Strata server has payments configured.
        log("[stripe] local stand-in (backend/tests/stripe_fake.py)")
        with stripe_fake(workdir) as stripe:
            for key in config.databases:
                report = DatabaseReport(key)
                run.databases.append(report)
                with database_app(key, workdir, config, stripe) as app:
                    main_pass(app, config, wrk, ceiling.rps, report)
                    # Before the 100,000-product seeding: the same catalog as the main pass.
                    uncached_pass(app, config, wrk, ceiling.rps, report)
                    if key == "sqlite":
                        big_catalog_pass(app, config, wrk, ceiling.rps, report)
                if config.jobs:
                    with scratch_database(key, workdir, config.postgres_url) as url:
                        run.jobs.append(jobs_pass(key, url, workdir))
    if config.pipelines:
        run.pipelines = pipelines_pass()
    return _finished(run)


def _finished(run: Run) -> Run:
    run.finished_at = datetime.now(UTC)
    run.code_at_end = CodeState.now()
    if run.code_changed:
        log("warning: the application's source changed during the run (see the report)")
    return run


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    # As SystemExit, a kill of `make bench` still runs every finally: servers stop, databases drop.
    log("bench: terminated; stopping servers, dropping temporary databases")
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        run = bench(Config.from_env())
    except BenchError as error:
        log(f"bench: error: {error}")
        return 1
    except KeyboardInterrupt:
        log("bench: interrupted; servers stopped, temporary databases dropped")
        return 130
    stem = write_results(run)
    print(render_markdown(run))
    latest = "" if run.config.only else f", {RESULTS_DIR / 'latest.md'}"
    log(f"results: {stem.with_suffix('.md')}, {stem.with_suffix('.json')}{latest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
