"""sessions remember the hashes of their spent refresh secrets (reuse detection)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing sessions start with an empty history: a secret they spent before this revision is
    # refused as invalid, not detected as reuse.
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column("spent_token_hashes", sa.Text(), server_default=sa.text("''"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("spent_token_hashes")
