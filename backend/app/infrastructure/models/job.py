"""The table of background jobs: the source of truth for each job (a broker carries only ids)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.infrastructure.database.base import Base, UtcDateTime


class JobModel(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # The sweeper's three questions (queued and sent long ago, failed and due, running on an
        # expired lease) and the admin list's status filter all start from the status.
        Index(None, "status", "run_after"),
        Index(None, "kind", "status"),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)  # JSON
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    run_after: Mapped[datetime] = mapped_column(UtcDateTime)
    # When the id last went to the broker: a queued job not started long after is sent again.
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Unique: one periodic job per kind and period, however many schedulers fire.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    version: Mapped[int] = mapped_column(Integer)
