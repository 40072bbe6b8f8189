"""credentials

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("email_verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("mfa_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("totp_secret_sealed", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_last_used_step", sa.BigInteger(), nullable=True))
    # BEING WRITTEN: the credentials work adds its tables below.


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_used_step")
        batch.drop_column("totp_secret_sealed")
        batch.drop_column("mfa_enabled")
        batch.drop_column("email_verified")
