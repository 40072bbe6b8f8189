"""Alembic, driven from code: the CLI, `make migrate` and the test fixtures all come through here.

Alembic (with Mako and Pygments, ~11 MiB resident) is imported only by what migrates. The check
every API process and worker makes at start-up, `ensure_at_head`, reads the revision graph from
the migration files' declarations instead (see `_declared_revisions`), and falls back to Alembic
whenever the files declare anything that plain reading cannot settle exactly as Alembic would.
"""

from __future__ import annotations

import ast
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import column, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.infrastructure.database.sqlite_file import prepare_sqlite_file

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "alembic"
VERSION_TABLE = "alembic_version"  # Alembic's default; env.py does not change it
logger = logging.getLogger("strata.migrations")


def alembic_config(database_url: str, feature_locations: Sequence[Path] = ()) -> Config:
    """The main migration tree, plus the version folders features bring of their own (each a
    branch that depends on the main tree)."""
    from alembic.config import Config  # noqa: PLC0415 - Alembic only where it is used

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if feature_locations:
        locations = [MIGRATIONS_DIR / "versions", *feature_locations]
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(map(str, locations)))
    # ConfigParser interpolates '%': a URL-encoded password would otherwise break.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its folder (./var on a fresh checkout), and world-readable:
    both are made owner-only first."""
    prepare_sqlite_file(database_url)


def upgrade(
    database_url: str, revision: str = "heads", feature_locations: Sequence[Path] = ()
) -> None:
    """Migrate to `revision` (every branch's head by default). Blocking: call it from a thread
    when an event loop is running."""
    from alembic import command  # noqa: PLC0415 - Alembic only where it is used

    ensure_sqlite_directory(database_url)
    command.upgrade(alembic_config(database_url, feature_locations), revision)


def downgrade(database_url: str, revision: str, feature_locations: Sequence[Path] = ()) -> None:
    from alembic import command  # noqa: PLC0415 - Alembic only where it is used

    command.downgrade(alembic_config(database_url, feature_locations), revision)


class DatabaseNotMigratedError(RuntimeError):
    """The database's schema is not the one this code was written for."""


async def ensure_at_head(engine: AsyncEngine, feature_locations: Sequence[Path] = ()) -> None:
    """Refuse to serve a database that is not migrated to the latest revision, and say why.

    A database that does not answer yet is not refused here: readiness reports it (503) until it does.
    """
    graph = _RevisionGraph.read(feature_locations) or _RevisionGraph.from_alembic(
        engine.url.render_as_string(hide_password=False), feature_locations
    )
    expected = graph.heads
    try:
        async with engine.connect() as connection:
            current = set(await connection.run_sync(current_heads))
    except (OperationalError, InterfaceError, OSError) as error:
        logger.warning("database unreachable at start-up", extra={"error": type(error).__name__})
        return
    # A feature branch that depends on a main-tree head leaves only its own head in the version
    # table (Alembic folds the dependency in): what is applied is the current heads and all they
    # stand on, dependencies included.
    if not current <= expected or not expected <= graph.applied(current):
        raise DatabaseNotMigratedError(
            f"the database is at revision {_named(current)}, this code expects "
            f"{_named(expected)}: run `strata migrate` (or `make migrate`) first"
        )


def current_heads(connection: Connection) -> tuple[str, ...]:
    """The revisions in the version table, none without it: what Alembic's
    `MigrationContext.get_current_heads` reads, without importing Alembic."""
    if not connection.dialect.has_table(connection, VERSION_TABLE):
        return ()
    versions = table(VERSION_TABLE, column("version_num"))
    return tuple(row[0] for row in connection.execute(select(versions.c.version_num)))


@dataclass(frozen=True, slots=True)
class _RevisionGraph:
    """Each revision with the revisions it stands on (its down revisions and its dependencies,
    resolved to revision ids), and the heads."""

    stands_on: dict[str, frozenset[str]]
    heads: frozenset[str]

    def applied(self, current: Iterable[str]) -> set[str]:
        """The revisions `current` (all heads, so all known) stands on, itself included: what
        Alembic's `iterate_revisions(current, "base", implicit_base=True,
        select_for_downgrade=True)` yields."""
        applied: set[str] = set()
        todo = list(current)
        while todo:
            revision = todo.pop()
            if revision not in applied:
                applied.add(revision)
                todo.extend(self.stands_on[revision])
        return applied

    @classmethod
    def read(cls, feature_locations: Sequence[Path]) -> _RevisionGraph | None:
        """The graph from the files' declarations; None when Alembic must decide (anything
        unusual: a declaration that is not a literal, an unknown or duplicate id, a cycle...)."""
        declared = _declared_revisions(feature_locations)
        if declared is None:
            return None
        labels: dict[str, str] = {}
        for revision, declaration in declared.items():
            for label in declaration.branch_labels:
                if label in declared or label in labels:
                    return None  # Alembic refuses the label
                labels[label] = revision
        stands_on: dict[str, frozenset[str]] = {}
        for revision, declaration in declared.items():
            dependencies = [labels.get(name, name) for name in declaration.depends_on]
            below = frozenset((*declaration.down_revisions, *dependencies))
            if not below <= declared.keys() or revision in below:
                return None
            stands_on[revision] = below
        if _has_cycle(stands_on):
            return None
        # A head: no revision has it as its down revision (a dependency does not count).
        below_others = {down for d in declared.values() for down in d.down_revisions}
        return cls(stands_on, frozenset(declared.keys() - below_others))

    @classmethod
    def from_alembic(cls, database_url: str, feature_locations: Sequence[Path]) -> _RevisionGraph:
        from alembic.script import ScriptDirectory  # noqa: PLC0415 - only when needed

        script = ScriptDirectory.from_config(alembic_config(database_url, feature_locations))
        heads = frozenset(script.get_heads())
        return _AlembicGraph({}, heads, script)


@dataclass(frozen=True, slots=True)
class _AlembicGraph(_RevisionGraph):
    script: ScriptDirectory

    def applied(self, current: Iterable[str]) -> set[str]:
        current = tuple(current)
        if not current:
            return set()
        return {
            revision.revision
            for revision in self.script.revision_map.iterate_revisions(
                current, "base", implicit_base=True, select_for_downgrade=True
            )
        }


@dataclass(frozen=True, slots=True)
class _Declaration:
    down_revisions: tuple[str, ...]
    depends_on: tuple[str, ...]
    branch_labels: tuple[str, ...]


# The files Alembic loads from a version folder (not recursive, no `sourceless`): *.py, but not
# __init__.py nor an editor's lock file.
_REVISION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
_DECLARED_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")
_ILLEGAL_IN_REVISION_ID = frozenset("@-+")  # Alembic's `Revision.verify_rev_id`


def _declared_revisions(feature_locations: Sequence[Path]) -> dict[str, _Declaration] | None:
    """Each revision's declarations, read (never run) from the files Alembic would load for
    `alembic_config`; None when Alembic must decide."""
    if feature_locations:
        named = [str(MIGRATIONS_DIR / "versions"), *map(str, feature_locations)]
        # Alembic splits the option on os.pathsep, reads "package:path" and interpolates '%'.
        if any(character in name for name in named for character in (os.pathsep, ":", "%")):
            return None
        locations = [Path(name).absolute() for name in named]
    else:
        locations = [(MIGRATIONS_DIR / "versions").absolute()]
    if not MIGRATIONS_DIR.is_dir():
        return None  # Alembic says so
    declared: dict[str, _Declaration] = {}
    loaded: set[Path] = set()
    try:
        for location in locations:
            if not location.exists():
                continue
            with os.scandir(location) as entries:
                files = sorted(entry.name for entry in entries if not entry.is_dir())
            for name in files:
                path = (location / name).resolve()
                if path in loaded or not _REVISION_FILE.match(name):
                    continue
                loaded.add(path)
                found = _declarations(path.read_bytes())
                if found is None or found[0] in declared:
                    return None
                declared[found[0]] = found[1]
    except (OSError, SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return None  # unreadable, or not plain literals: Alembic decides
    return declared


def _declarations(source: bytes) -> tuple[str, _Declaration] | None:
    """A migration file's revision id and declarations, when each is a plain literal assigned
    once at the top of the module and the names are bound nowhere else."""
    tree = ast.parse(source)
    values: dict[str, object] = {}
    assigned: set[int] = set()  # the ast.Name nodes assigned the declarations
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in _DECLARED_NAMES:
            if target.id in values:
                return None
            values[target.id] = ast.literal_eval(value)
            assigned.add(id(target))
    if _bound_elsewhere(tree, assigned):
        return None
    revision = values.get("revision")
    if not isinstance(revision, str) or not revision or "down_revision" not in values:
        return None  # Alembic's legacy ids from file names, or its AttributeError
    if _ILLEGAL_IN_REVISION_ID & set(revision):
        return None
    return revision, _Declaration(
        _names(values["down_revision"]),
        _names(values.get("depends_on")),
        _names(values.get("branch_labels")),
    )


def _bound_elsewhere(tree: ast.Module, assigned: set[int]) -> bool:
    """Whether anything but `assigned` binds one of the declared names (or may: `import *`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound = {node.id} if id(node) not in assigned else set()
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound = {node.name}
        elif isinstance(node, ast.alias):
            bound = {node.asname or node.name.split(".")[0]}
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound = set(node.names)
        else:
            continue
        if "*" in bound or not bound.isdisjoint(_DECLARED_NAMES):
            return True
    return False


def _names(value: object) -> tuple[str, ...]:
    """A declaration as Alembic's `util.to_tuple` reads it: None, a name, or names (anything
    else is left to Alembic: ValueError)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list)) and all(isinstance(name, str) for name in value):
        return tuple(value)
    raise ValueError(value)


def _has_cycle(stands_on: dict[str, frozenset[str]]) -> bool:
    done: set[str] = set()
    for start, below_start in stands_on.items():
        if start in done:
            continue
        path: set[str] = {start}
        stack = [(start, iter(below_start))]
        while stack:
            revision, below = stack[-1]
            following = next(below, None)
            if following is None:
                stack.pop()
                path.discard(revision)
                done.add(revision)
            elif following in path:
                return True
            elif following not in done:
                path.add(following)
                stack.append((following, iter(stands_on[following])))
    return False


def _named(revisions: Iterable[str]) -> str:
    return ", ".join(sorted(revisions)) or "none (empty)"
