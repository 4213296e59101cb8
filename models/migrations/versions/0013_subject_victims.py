"""victims named at intake (for prohibition orders and the record)

Revision ID: 0013_subject_victims
Revises: 0012_prohibition_orders
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_subject_victims"
down_revision = "0012_prohibition_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("victims", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("victims")
