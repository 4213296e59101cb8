"""supervision register: the deciding organ and document, release date, reason and
document; who entered and decided a leave, an early return, extensions

Revision ID: 0009_supervision_terms
Revises: 0008_device_keys
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0009_supervision_terms"
down_revision = "0008_device_keys"
branch_labels = None
depends_on = None

REASONS = ("term_end", "revoked", "death", "other")


def upgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("decided_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("decision_no", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("released_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column(
                "end_reason",
                sa.Enum(*REASONS, name="endreason", native_enum=False, length=32),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("end_document", sa.String(length=128), nullable=True))
    with op.batch_alter_table("leave_permits") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("returned_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("extends", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leave_permits") as batch:
        for column in ("extends", "returned_at", "decided_by", "requested_by"):
            batch.drop_column(column)
    with op.batch_alter_table("subjects") as batch:
        for column in ("end_document", "end_reason", "released_on", "decision_no", "decided_by"):
            batch.drop_column(column)
