"""The note feature's table and default policy rules: a branch of its own, on the main tree.

Revision ID: n001
Depends on: 0004 (the access policy's tables)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.infrastructure.database.policy_migration import change_default_rules
from tests.throwaway_feature.feature import NOTE_POLICY_RULES

revision: str = "n001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = ("note",)
depends_on: str | Sequence[str] | None = "0004"


def upgrade() -> None:
    op.create_table(
        "throwaway_notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throwaway_notes")),
    )
    change_default_rules(NOTE_POLICY_RULES, add=True)


def downgrade() -> None:
    change_default_rules(NOTE_POLICY_RULES, add=False)
    op.drop_table("throwaway_notes")
