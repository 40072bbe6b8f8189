from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.infrastructure.database.base import Base, UtcDateTime


class ResourceModel(Base):
    __tablename__ = "resources"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version_positive"),
        Index(None, "owner_id", "id"),  # a user's resources, in keyset order
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    # No cascade from users: erasing an account deletes its resources first, with their files.
    owner_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ResourceFileModel(Base):
    __tablename__ = "resource_files"
    __table_args__ = (
        CheckConstraint("size >= 0", name="size_not_negative"),
        Index(None, "resource_id", "id"),
        Index(None, "owner_id"),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    resource_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("resources.id", ondelete="CASCADE"))
    owner_id: Mapped[UUID] = mapped_column(Uuid)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    storage_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
