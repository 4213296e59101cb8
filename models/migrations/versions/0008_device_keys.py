"""device keys: terminals and devices sign their records

Revision ID: 0008_device_keys
Revises: 0007_closed_months
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0008_device_keys"
down_revision = "0007_closed_months"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_keys",
        sa.Column("key_id", sa.String(length=128), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=True),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("retired_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            models.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("modified_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_device_keys_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_device_keys")),
    )
    with op.batch_alter_table("device_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_keys_device_id"), ["device_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_keys_device_id"))
    op.drop_table("device_keys")
