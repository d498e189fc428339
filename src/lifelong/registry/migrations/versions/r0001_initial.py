"""Initial registry schema: versions, aliases and their history, content-addressed snapshots.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

HASH = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "examples",
        sa.Column("hash", HASH, primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("original", sa.Text(), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", HASH, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("label_counts", sa.JSON(), nullable=False),
        sa.Column("parent_id", HASH, sa.ForeignKey("snapshots.id"), nullable=True),
    )
    op.create_index("ix_snapshots_created_at", "snapshots", ["created_at"])
    op.create_table(
        "snapshot_members",
        sa.Column("snapshot_id", HASH, sa.ForeignKey("snapshots.id"), primary_key=True),
        sa.Column("example_hash", HASH, sa.ForeignKey("examples.hash"), primary_key=True),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("parent_major", sa.Integer(), nullable=True),
        sa.Column("parent_minor", sa.Integer(), nullable=True),
        sa.Column("edge", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("snapshot_id", HASH, sa.ForeignKey("snapshots.id"), nullable=False),
        sa.Column("data_diff", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("training", sa.JSON(), nullable=False),
        sa.Column("artifact_id", HASH, nullable=False),
        sa.Column("artifact_files", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("lifelong_version", sa.String(32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=True),
        sa.UniqueConstraint("major", "minor", name="uq_versions_number"),
        sa.ForeignKeyConstraint(
            ["parent_major", "parent_minor"],
            ["versions.major", "versions.minor"],
            name="fk_versions_parent",
        ),
    )
    op.create_table(
        "aliases",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("major", sa.Integer(), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["major", "minor"], ["versions.major", "versions.minor"], name="fk_aliases_version"
        ),
    )
    op.create_table(
        "alias_moves",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("alias", sa.String(128), nullable=False),
        sa.Column("from_version", sa.String(32), nullable=True),
        sa.Column("to_version", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alias_moves_alias", "alias_moves", ["alias"])


def downgrade() -> None:
    op.drop_table("alias_moves")
    op.drop_table("aliases")
    op.drop_table("versions")
    op.drop_table("snapshot_members")
    op.drop_index("ix_snapshots_created_at", table_name="snapshots")
    op.drop_table("snapshots")
    op.drop_table("examples")
