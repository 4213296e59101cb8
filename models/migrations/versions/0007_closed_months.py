"""closed months, and late entries that name the closed month they belong to

Which months are closed is read from the database (a subject's state remembers only its
last six closes), and an event for a closed month is booked in the first open month with
``corrects_month`` naming its own.

Revision ID: 0007_closed_months
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0007_closed_months"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "closed_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("closed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_closed_months")),
    )
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("corrects_month", sa.String(length=7), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_column("corrects_month")
    op.drop_table("closed_months")
