"""The Redis databases each pytest-xdist worker takes (tests/redis_databases.py)."""

from __future__ import annotations

import pytest

from tests.redis_databases import DEFAULT_URLS, MAX_WORKERS, shifted, worker_index


def test_workers_get_disjoint_blocks_of_databases() -> None:
    blocks = [
        {int(shifted(url, worker).rsplit("/", 1)[1]) for url in DEFAULT_URLS.values()}
        for worker in range(MAX_WORKERS)
    ]
    assert blocks[0] == {12, 13, 14, 15}
    assert all(min(block) >= 4 for block in blocks)  # 0-3 stay for the live-server suites
    assert sum(len(block) for block in blocks) == len(set().union(*blocks))


def test_the_rest_of_the_url_is_kept() -> None:
    assert shifted("redis://:secret@cache.internal:6380/15", 1) == (
        "redis://:secret@cache.internal:6380/11"
    )


def test_outside_xdist_the_first_block_is_used() -> None:
    assert worker_index(None) == 0
    assert worker_index("gw0") == 0
    assert worker_index("gw2") == 2


def test_more_workers_than_blocks_are_refused() -> None:
    with pytest.raises(RuntimeError, match="at most"):
        worker_index(f"gw{MAX_WORKERS}")
