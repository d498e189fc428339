"""The prediction log keeps a regression model's predicted number (``predictions.value``).

A regression prediction is logged with ``intent = "value"`` and confidence 1, which tell the
drift trigger nothing about what the model answers; the number itself lets it compare recent
predicted values with the champion's values on its test split. Nullable: a classifier's rows,
and every row logged before this revision, have none.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ALTER (no batch copy): SQLite adds a nullable column in place, rows kept
    op.add_column("predictions", sa.Column("value", sa.Float(), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place; this one has no index or constraint
    op.drop_column("predictions", "value")
