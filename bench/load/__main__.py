"""`python -m bench.load`: start Strata's distributed shape (bench/load/stack.py), run locust headless
against it with the journeys of bench/load/locustfile.py, and write the report under
bench/load/results/<timestamp>/ (and results/latest.md).

Exit status: 0 when the run passed, 1 when it failed (a 5xx, any other failed request, or a p99
over the limit: bench/load/report.py), 2 when it could not run at all.

Knobs (environment): LOAD_USERS (50), LOAD_DURATION (5m, locust's format: 20s, 5m, 1h30m),
LOAD_SPAWN_RATE (users started per second; a tenth of LOAD_USERS, at least 1), LOAD_WORKERS
(`strata serve` processes, 2), LOAD_PRODUCTS (catalog size, 10000), LOAD_MAX_P99_MS (200),
LOAD_POSTGRES_URL (a server to create the run's database on), LOAD_REDIS_URL (database 2 of the
local Redis; flushed before and after), LOAD_RESULTS_DIR (bench/load/results).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.config import BACKEND_DIR, ROOT, VENV_BIN, BenchError, log
from bench.load.report import judge, markdown, read_results
from bench.load.stack import Stack, distributed_stack
from bench.provenance import CodeState

LOAD_DIR = Path(__file__).resolve().parent
LOCUSTFILE = LOAD_DIR / "locustfile.py"
# Locust stops users this long after the duration; a journey still going then is cut short.
STOP_TIMEOUT_S = 5
# Locust's own start and its report, beyond the duration and the stop timeout.
LOCUST_OVERHEAD_S = 60
DURATION_PART = re.compile(r"(\d+)([hms])")
SECONDS_PER_UNIT = {"h": 3600, "m": 60, "s": 1}
EXIT_FAILED = 1
EXIT_COULD_NOT_RUN = 2


@dataclass(frozen=True, slots=True)
class LoadConfig:
    users: int
    spawn_rate: float
    duration: str  # locust's -t
    api_workers: int
    products: int
    max_p99_ms: float
    postgres_url: str
    redis_url: str
    results_dir: Path

    @classmethod
    def from_env(cls) -> LoadConfig:
        users = int(os.environ.get("LOAD_USERS", "50"))
        duration = os.environ.get("LOAD_DURATION", "5m")
        duration_seconds(duration)  # refuses a malformed one before anything starts
        return cls(
            users=users,
            spawn_rate=float(os.environ.get("LOAD_SPAWN_RATE", max(1.0, users / 10))),
            duration=duration,
            api_workers=int(os.environ.get("LOAD_WORKERS", "2")),
            products=int(os.environ.get("LOAD_PRODUCTS", "10000")),
            max_p99_ms=float(os.environ.get("LOAD_MAX_P99_MS", "200")),
            postgres_url=os.environ.get(
                "LOAD_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
            ),
            redis_url=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/2"),
            results_dir=Path(os.environ.get("LOAD_RESULTS_DIR", LOAD_DIR / "results")),
        )


def duration_seconds(duration: str) -> int:
    parts = DURATION_PART.findall(duration)
    if not parts or "".join(number + unit for number, unit in parts) != duration:
        raise BenchError(f"LOAD_DURATION={duration!r}: expected e.g. 20s, 5m or 1h30m")
    return sum(int(number) * SECONDS_PER_UNIT[unit] for number, unit in parts)


def main() -> int:
    try:
        config = LoadConfig.from_env()
        return run(config)
    except (BenchError, ValueError) as error:
        log(f"load: could not run: {error}")
        return EXIT_COULD_NOT_RUN


def run(config: LoadConfig) -> int:
    started = datetime.now(UTC)
    run_dir = config.results_dir / started.strftime("%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True)
    csv_prefix = run_dir / "locust"
    with tempfile.TemporaryDirectory(prefix="strata-load-") as scratch:
        workdir = Path(scratch)
        try:
            with distributed_stack(
                workdir,
                postgres_url=config.postgres_url,
                redis_url=config.redis_url,
                api_workers=config.api_workers,
                products=config.products,
            ) as stack:
                run_locust(config, stack, csv_prefix, run_dir / "locust.html")
            results = read_results(csv_prefix)
        finally:
            # The servers' own logs, kept beside the report (a 5xx's traceback is in serve.log).
            for log_file in workdir.rglob("*.log"):
                shutil.copy(log_file, run_dir / log_file.name)
    verdict = judge(results, config.max_p99_ms)
    code = CodeState.now()
    changed = f" + uncommitted changes to {len(code.changed_files)} backend files"
    parameters = {
        "commit": code.commit + (changed if code.changed_files else ""),
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "users": f"{config.users} (spawned at {config.spawn_rate:g}/s)",
        "duration": config.duration,
        "shape": (
            f"strata serve --workers {config.api_workers}, one strata worker, PostgreSQL, Redis, "
            f"the Stripe stand-in; {config.products:,} products; rate limits set unreachable"
        ),
        "machine": f"{os.cpu_count()} CPUs (locust runs on the same machine)",
    }
    summary = markdown(results, verdict, config.max_p99_ms, parameters)
    (run_dir / "report.md").write_text(summary, encoding="utf-8")
    (config.results_dir / "latest.md").write_text(
        summary + f"\nFiles: {run_dir.name}/ (locust CSV and HTML, server logs).\n",
        encoding="utf-8",
    )
    print(summary)
    log(f"load: report in {run_dir}")
    return 0 if verdict.passed else EXIT_FAILED


def run_locust(config: LoadConfig, stack: Stack, csv_prefix: Path, html_path: Path) -> None:
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        stack.api.base_url,
        "-u",
        str(config.users),
        "-r",
        f"{config.spawn_rate:g}",
        "-t",
        config.duration,
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        "--csv",
        str(csv_prefix),
        "--html",
        str(html_path),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {
        **os.environ,
        # The locustfile imports bench.* (and, through it, the backend's packages).
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(BACKEND_DIR)]),
        "LOAD_STRIPE_WEBHOOK_SECRET": stack.stripe.webhook_secret,
    }
    log(f"locust: {config.users} users for {config.duration} against {stack.api.base_url}")
    timeout = duration_seconds(config.duration) + STOP_TIMEOUT_S + LOCUST_OVERHEAD_S
    try:
        done = subprocess.run(command, env=env, cwd=ROOT, check=False, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"locust did not finish within {timeout} s") from error
    # Locust exits 1 when any request failed: the report judges those. Anything else is locust's
    # own trouble (a locustfile that does not import, a bad option).
    if done.returncode not in (0, 1):
        raise BenchError(f"locust exited with {done.returncode}")


if __name__ == "__main__":
    sys.exit(main())
