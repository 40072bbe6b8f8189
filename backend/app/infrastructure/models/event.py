"""The tables of domain events: the outbox use cases record them in, and what each handler has
handled (so a redelivered event is a no-op)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Index, Integer, PrimaryKeyConstraint, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.infrastructure.database.base import Base, UtcDateTime


class OutboxEventModel(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # The relay's question, "unpublished, oldest recorded first", is a range scan of it.
        Index(None, "published_at", "recorded_at"),
    )

    event_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    aggregate_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    schema_version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)  # JSON


class ProcessedEventModel(Base):
    __tablename__ = "processed_events"
    __table_args__ = (
        PrimaryKeyConstraint("handler", "event_id"),
        Index(None, "processed_at"),  # the retention sweep deletes by age
    )

    handler: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[UUID] = mapped_column(Uuid)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime)
