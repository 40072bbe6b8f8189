from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.infrastructure.database.base import Base, UtcDateTime


class UserModel(Base):
    __tablename__ = "users"
    __table_args__ = (
        # E-mails are stored normalised (lower case), so this makes them unique case-insensitively.
        UniqueConstraint("email"),
        CheckConstraint("role IN ('user', 'admin')", name="role_known"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Server defaults: rows created before these columns existed read as "not yet".
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    mfa_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(255), nullable=True)
    totp_last_used_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
