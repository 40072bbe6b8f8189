"""The session's PostgreSQL with pgvector, for tests of vector search.

A plain module so that `conftest.py` registers it with one line; each pytest process (each xdist
worker) starts one server for its whole session. Without the bundled server the fixture errors
rather than skips: vector search must be tested on a real pgvector in CI.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pgvector_server import EmbeddedPostgres


@pytest.fixture(scope="session")
def pgvector_postgres_url() -> Iterator[str]:
    """`postgresql+asyncpg://` URL of a fresh PostgreSQL 18 + pgvector server, stopped at the end.

    The `vector` extension is not created here: a test's migrations or setup create it, as in
    production.
    """
    # Started here, in pytest's main thread: the server dies with the thread that started it.
    with EmbeddedPostgres() as server:
        yield server.url
