"""when ccwatch began watching the database: no time before it is judged

Written by the first worker to start on the database (models.closes.record_watch_start).

Revision ID: 0010_watch_started
Revises: 0009_supervision_terms
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0010_watch_started"
down_revision = "0009_supervision_terms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_started",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("started_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_watch_started_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch_started")),
    )


def downgrade() -> None:
    op.drop_table("watch_started")
