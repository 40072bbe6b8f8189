"""`make load` in its short smoke shape (bench/load: 5 users for 20 s) against the distributed
Strata it starts (two API processes, a job worker, PostgreSQL, Redis database 2, the Stripe
stand-in): every journey runs without a server error, and the verdict fails on one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import postgres_admin_url

ROOT = Path(__file__).resolve().parents[3]
# bench/ sits beside backend/, outside what pytest puts on the path (pyproject sets no
# `pythonpath`); `python -m bench.load` imports it the same way, from the repository's root.
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from bench.load.names import (  # noqa: E402 - needs the path above
    CREATE_RESOURCE,
    GET_PRODUCT,
    LIST_PRODUCTS,
    LOGIN,
    REGISTER,
    START_RUN,
    UPLOAD,
)
from bench.load.report import (  # noqa: E402
    Failure,
    RequestStats,
    Results,
    judge,
    read_results,
)

# The whole smoke run: start-up (migrate, seed, two API processes) ~20 s, locust 20 s, stop.
RUN_TIMEOUT_S = 240
# The requests every user makes as it starts, whatever locust picks afterwards: proof that each
# kind of user (shopper, member, uploader) got going.
EVERY_RUN_MAKES = (LIST_PRODUCTS, REGISTER, LOGIN, CREATE_RESOURCE, UPLOAD, START_RUN)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_the_smoke_load_runs_every_kind_of_user_without_a_server_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LOAD_USERS": "5",
        "LOAD_DURATION": "20s",
        "LOAD_PRODUCTS": "1000",
        "LOAD_WORKERS": "2",
        # The latency limit is for the full run on a quiet machine; on a CI runner shared with the
        # rest of the suite it would fail on noise. Server errors and failed requests still fail.
        "LOAD_MAX_P99_MS": "60000",
        "LOAD_POSTGRES_URL": postgres_admin_url(),
        # The database set aside for this module (tests/redis_databases.py keeps 0-3 out of xdist).
        "LOAD_REDIS_URL": "redis://127.0.0.1:6379/2",
        "LOAD_RESULTS_DIR": str(tmp_path),
    }

    done = subprocess.run(
        [sys.executable, "-m", "bench.load"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )

    (run_dir,) = (path for path in tmp_path.iterdir() if path.is_dir())
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{_tail(run_dir / 'serve.log')}"
    results = read_results(run_dir / "locust")
    made = {stats.name: stats.count for stats in results.requests}
    assert all(made.get(name, 0) > 0 for name in EVERY_RUN_MAKES), made
    assert "**PASS**" in (run_dir / "report.md").read_text()
    assert (tmp_path / "latest.md").read_text().startswith((run_dir / "report.md").read_text())
    assert (run_dir / "locust.html").stat().st_size > 0


def test_a_single_server_error_fails_the_run_however_fast_it_was() -> None:
    fast = RequestStats(GET_PRODUCT, 1000, 1, 5.0, 9.0, 12.0, 30.0, 50.0)
    one_503 = Failure(GET_PRODUCT, 503, "CatchResponseError('HTTP 503 (expected 200): ')", 1)

    verdict = judge(Results((fast,), (one_503,), ()), max_p99_ms=200)

    assert not verdict.passed
    assert verdict.problems == (
        f"{GET_PRODUCT}: 1 x HTTP 503: CatchResponseError('HTTP 503 (expected 200): ')",
    )


def test_a_p99_over_the_limit_fails_except_for_password_hashing_and_uploads() -> None:
    slow_login = RequestStats(LOGIN, 10, 0, 300.0, 900.0, 1200.0, 1300.0, 1.0)
    slow_read = RequestStats(GET_PRODUCT, 10, 0, 20.0, 150.0, 230.0, 240.0, 1.0)

    verdict = judge(Results((slow_login, slow_read), (), ()), max_p99_ms=200)

    assert verdict.problems == (f"{GET_PRODUCT}: p99 230 ms > 200 ms (by 30 ms)",)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no serve.log)"
