"""The declarative base. Every constraint gets a predictable name, so that migrations can drop it and
a violation can be translated into the domain conflict it means (see `errors.py`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC timestamps")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Schema objects the models do not describe, made by migrations or at start-up for the database's
# own indexes: SQLite's FTS5 table (and the shadow tables it keeps), PostgreSQL's stored tsvector
# and its GIN index, and pgvector's column and HNSW indexes (`repositories/pipeline/vectors.py`).
UNMODELLED_NAME_PREFIXES = (
    "pipeline_chunks_fts",
    "text_tsvector",
    "ix_pipeline_chunks_text_fts",
    "ix_pipeline_chunks_hnsw_",
    "embedding_vector",
)


def is_modelled(
    _object: object, name: str | None, _type: str, reflected: bool, _compare_to: object
) -> bool:
    """Alembic's `include_object`: leave out, when comparing the database with the models, what
    exists only in the database by design."""
    return not (reflected and name is not None and name.startswith(UNMODELLED_NAME_PREFIXES))
