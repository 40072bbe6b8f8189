"""Which named constraint an IntegrityError broke, on PostgreSQL and on SQLite."""

from __future__ import annotations

import re

from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import IntegrityError

from app.infrastructure.database.base import Base

# SQLite names the columns, not the constraint: "UNIQUE constraint failed: users.email".
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>[\w., ]+)")


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint behind `error`, or None when it cannot be told."""
    cause = getattr(error.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)  # asyncpg
    if isinstance(name, str):
        return name
    match = _SQLITE_UNIQUE.search(str(error.orig))
    if match is None:
        return None
    return _sqlite_unique_constraints().get(match["columns"].replace(" ", ""))


def _sqlite_unique_constraints() -> dict[str, str]:
    names: dict[str, str] = {}
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint) and isinstance(constraint.name, str):
                columns = ",".join(f"{table.name}.{column.name}" for column in constraint.columns)
                names[columns] = constraint.name
        for index in table.indexes:
            if index.unique and isinstance(index.name, str):
                columns = ",".join(f"{table.name}.{column.name}" for column in index.columns)
                names[columns] = index.name
    return names
