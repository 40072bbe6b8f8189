"""media pipelines: runs, their changes, artifacts, chunks and the full-text index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.application.interfaces.access import PolicyRule
from app.infrastructure.database.policy_migration import change_default_rules

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The full-text index: on PostgreSQL a GIN index over the chunks' English tsvector, a stored
# generated column (`text_tsvector`); on SQLite an FTS5 table keyed by the chunk's rowid,
# filled when a chunk becomes searchable and emptied by a trigger when a chunk is deleted
# (the cascade from a deleted file or run included).
FULL_TEXT_INDEX = "ix_pipeline_chunks_text_fts"
# Users start, follow and retry runs of their own files (frozen here, like the policy of 0004).
PIPELINE_RULES = [
    PolicyRule("user", "pipeline", action, "own") for action in ("create", "read", "update")
]
FTS5_TABLE = "pipeline_chunks_fts"
TSVECTOR_COLUMN = "text_tsvector"


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
    )
    op.create_index(op.f("ix_pipeline_runs_owner_id_id"), "pipeline_runs", ["owner_id", "id"])
    op.create_index(op.f("ix_pipeline_runs_resource_id"), "pipeline_runs", ["resource_id"])
    op.create_index(op.f("ix_pipeline_runs_file_id"), "pipeline_runs", ["file_id"])
    op.create_table(
        "pipeline_run_changes",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_pipeline_run_changes_run_id_pipeline_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "version", name=op.f("pk_pipeline_run_changes")),
    )
    op.create_table(
        "pipeline_artifacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("storage_key", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_pipeline_artifacts_run_id_pipeline_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_artifacts")),
        sa.UniqueConstraint("run_id", "step", name=op.f("uq_pipeline_artifacts_run_id_step")),
    )
    op.create_index(op.f("ix_pipeline_artifacts_owner_id"), "pipeline_artifacts", ["owner_id"])
    op.create_table(
        "pipeline_chunks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("start_offset", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("dimension", sa.Integer(), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("searchable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["resource_files.id"],
            name=op.f("fk_pipeline_chunks_file_id_resource_files"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_pipeline_chunks_run_id_pipeline_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_chunks")),
        sa.UniqueConstraint("run_id", "seq", name=op.f("uq_pipeline_chunks_run_id_seq")),
    )
    op.create_index(
        op.f("ix_pipeline_chunks_owner_id_searchable_model"),
        "pipeline_chunks",
        ["owner_id", "searchable", "model"],
    )
    op.create_index(op.f("ix_pipeline_chunks_file_id"), "pipeline_chunks", ["file_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Stored, so ranking reads it rather than parsing every matching chunk's text again.
        op.execute(
            f"ALTER TABLE pipeline_chunks ADD COLUMN {TSVECTOR_COLUMN} tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"
        )
        op.execute(
            f"CREATE INDEX {FULL_TEXT_INDEX} ON pipeline_chunks USING gin ({TSVECTOR_COLUMN})"
        )
    else:
        op.execute(
            f"CREATE VIRTUAL TABLE {FTS5_TABLE} USING fts5(text, tokenize='porter unicode61')"
        )
        op.execute(
            # A constant table name, no input.
            "CREATE TRIGGER pipeline_chunks_fts_delete AFTER DELETE ON pipeline_chunks BEGIN "  # noqa: S608
            f"DELETE FROM {FTS5_TABLE} WHERE rowid = old.id; END"
        )
    change_default_rules(PIPELINE_RULES, add=True)


def downgrade() -> None:
    change_default_rules(PIPELINE_RULES, add=False)
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS pipeline_chunks_fts_delete")
        op.execute(f"DROP TABLE IF EXISTS {FTS5_TABLE}")
    op.drop_table("pipeline_chunks")
    op.drop_table("pipeline_artifacts")
    op.drop_table("pipeline_run_changes")
    op.drop_table("pipeline_runs")
