"""The SQLite database file, owner-only: it holds e-mails, password hashes and the audit trail.

SQLite creates a database with mode 644 (less the umask) and gives its `-wal`, `-shm` and
`-journal` files the database file's mode. So the file is created empty with mode 600 (and its
missing folders with 700) before SQLite first opens it, and a database made earlier, with its
companions, loses the group's and others' bits at start.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from app.core.files import PRIVATE_FILE_MODE, make_private_dir, restrict_to_owner

COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for another database, memory or a `file:` URI."""
    url = make_url(database_url)
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:") or url.query.get("uri") in ("true", "1"):
        return None  # SQLite reads a URI filename itself (it may name memory); not ours to guess
    return Path(name)


def prepare_sqlite_file(database_url: str) -> None:
    """Create the database file owner-only if it is missing; make it and its companions so."""
    path = sqlite_file(database_url)
    if path is None:
        return
    make_private_dir(path.parent)
    with contextlib.suppress(FileExistsError):  # an existing database is tightened below
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in COMPANION_SUFFIXES)):
        if candidate.exists():
            restrict_to_owner(candidate)
