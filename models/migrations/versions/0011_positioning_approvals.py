"""e-positioning approvals (Community Correction Law art. 29)

Revision ID: 0011_positioning_approvals
Revises: 0010_watch_started
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0011_positioning_approvals"
down_revision = "0010_watch_started"
branch_labels = None
depends_on = None

REASONS = (
    "prohibition_order",
    "left_without_approval",
    "warned_for_not_reporting",
    "police_penalty",
    "pending_revocation",
)


def upgrade() -> None:
    op.create_table(
        "positioning_approvals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(*REASONS, name="positioningreason", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("extends", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            models.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("modified_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["extends"],
            ["positioning_approvals.id"],
            name=op.f("fk_positioning_approvals_extends_positioning_approvals"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_positioning_approvals_subject_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positioning_approvals")),
    )
    with op.batch_alter_table("positioning_approvals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_positioning_approvals_subject_id"), ["subject_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("positioning_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_positioning_approvals_subject_id"))
    op.drop_table("positioning_approvals")
