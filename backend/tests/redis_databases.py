"""Which Redis databases this pytest process may use.

The tests own Redis databases 12-15 (some flush theirs). Under pytest-xdist each worker gets its
own block of four, shifted down by four per worker (gw0: 12-15, gw1: 8-11, gw2: 4-7), so two
workers never flush or read each other's keys. The URLs reach the tests (and the `strata`
processes some of them start) through the environment, set once when the suite's conftest loads.
"""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

# Every Redis URL the tests read, with the database it names when nothing else is said.
DEFAULT_URLS = {
    "TEST_REDIS_URL": "redis://127.0.0.1:6379/15",
    "TEST_REDIS_FLUSHABLE_URL": "redis://127.0.0.1:6379/14",
    "TEST_REDIS_ENGINE_URL": "redis://127.0.0.1:6379/13",
    "TEST_REDIS_CLUSTER_URL": "redis://127.0.0.1:6379/12",
}
DATABASES_PER_WORKER = 4
MAX_WORKERS = 3  # databases 0-3 stay out of it: the live-server suites use 1 and 2, one module each


def worker_index(worker: str | None) -> int:
    """0 outside xdist and for gw0; n for gwn."""
    if not worker:
        return 0
    index = int(worker.removeprefix("gw"))
    if index >= MAX_WORKERS:
        raise RuntimeError(
            f"at most {MAX_WORKERS} xdist workers: the Redis databases would overlap"
        )
    return index


def shifted(url: str, workers_before: int) -> str:
    """`url` with its database number moved down by a block per worker before this one."""
    parsed = make_url(url)
    database = int(parsed.database or 0) - DATABASES_PER_WORKER * workers_before
    return parsed.set(database=str(database)).render_as_string(hide_password=False)


def use_this_workers_databases() -> None:
    index = worker_index(os.environ.get("PYTEST_XDIST_WORKER"))
    for name, default in DEFAULT_URLS.items():
        os.environ[name] = shifted(os.environ.get(name, default), index)
