from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from app.infrastructure.database.base import Base, UtcDateTime


class SessionModel(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        # A user's sessions, oldest first: listing, eviction beyond the cap, revoke-all.
        Index(None, "user_id", "created_at"),
        # The sweep of expired sessions of anyone (their user agent and address go with them).
        Index(None, "expires_at"),
    )
    # No index on `refresh_token_hash`: a refresh token names its session (`<id>.<secret>`), so
    # it is found by primary key and its hash only compared, never searched for.

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    # Erasing or deleting a user takes their sessions with them.
    user_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    refresh_token_hash: Mapped[str] = mapped_column(String(64))
    # The hashes of the last spent secrets, newest first, separated by spaces (reuse detection);
    # "" for none. Only ever compared against the presented token's hash, never searched.
    spent_token_hashes: Mapped[str] = mapped_column(Text, server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
