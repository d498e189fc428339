"""Drop the prediction log's index on ``shadow_of``.

No query looks rows up by ``shadow_of`` (shadow reports pair rows in memory), and every logged
prediction paid for the index: a B-tree insert per row, one of four, at the server's full rate.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_predictions_shadow_of", table_name="predictions")


def downgrade() -> None:
    op.create_index("ix_predictions_shadow_of", "predictions", ["shadow_of"])
