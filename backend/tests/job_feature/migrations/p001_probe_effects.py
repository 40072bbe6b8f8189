"""The probe feature's table (tests only): a branch of its own on the main tree.

Revision ID: p001
Depends on: 0009 (the jobs table)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = ("probe",)
depends_on: str | Sequence[str] | None = "0009"


def upgrade() -> None:
    op.create_table(
        "probe_effects",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_probe_effects")),
    )


def downgrade() -> None:
    op.drop_table("probe_effects")
