"""Snapshots of large data: one row per file (sha256, rows, counts) instead of one per example.

A snapshot of twenty million rows as member rows would be twenty million inserts per version;
a streamed training records its files instead (``snapshots.kind = 'files'``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTERs, no batch mode: SQLite adds a column in place (a batch copy would drop a
    # table that versions and members reference), and its INTEGER is 64-bit already
    op.add_column(
        "snapshots", sa.Column("kind", sa.String(16), nullable=False, server_default="examples")
    )
    if op.get_context().dialect.name != "sqlite":  # rows of large data overflow 32 bits
        op.alter_column("snapshots", "size", type_=sa.BigInteger(), existing_type=sa.Integer())
    op.create_table(
        "snapshot_files",
        sa.Column("snapshot_id", sa.String(64), sa.ForeignKey("snapshots.id"), primary_key=True),
        sa.Column("path", sa.Text(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("splits", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("snapshot_files")
    if op.get_context().dialect.name != "sqlite":
        op.alter_column("snapshots", "size", type_=sa.Integer(), existing_type=sa.BigInteger())
    op.drop_column("snapshots", "kind")
