"""access and audit

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("target_type", sa.String(length=50), nullable=True),
        sa.Column("target_id", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('success', 'failure', 'denied')",
            name=op.f("ck_audit_events_outcome_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_actor_id_id"), "audit_events", ["actor_id", "id"])
    op.create_index(op.f("ix_audit_events_action_id"), "audit_events", ["action", "id"])
    op.create_index(op.f("ix_audit_events_target_id"), "audit_events", ["target_id"])

    # Casbin's policy lines, in the layout its SQLAlchemy adapter reads.
    casbin_rule = op.create_table(
        "casbin_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ptype", sa.String(length=255), nullable=True),
        *(sa.Column(f"v{index}", sa.String(length=255), nullable=True) for index in range(6)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casbin_rule")),
    )
    op.bulk_insert(
        casbin_rule,
        [
            {"ptype": "p", "v0": role, "v1": object_type, "v2": action, "v3": scope}
            for role, object_type, action, scope in DEFAULT_POLICY
        ],
    )
    # Bumped by every policy change, so that every API process notices and reloads.
    version = op.create_table(
        "access_policy_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_policy_version")),
    )
    op.bulk_insert(version, [{"id": 1, "version": 1}])


# The default policy as this revision ships it (frozen here: later changes get their own migration).
DEFAULT_POLICY = [
    ("admin", "*", "*", "all"),
    *(
        ("user", object_type, action, "own")
        for object_type in ("resource", "file")
        for action in ("create", "read", "update", "delete")
    ),
]


def downgrade() -> None:
    op.drop_table("access_policy_version")
    op.drop_table("casbin_rule")
    op.drop_table("audit_events")
