"""prohibition orders (禁止令): the order, its forbidden zones (geofences.order_id), its home
curfew, the persons not to meet

Revision ID: 0012_prohibition_orders
Revises: 0011_positioning_approvals
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0012_prohibition_orders"
down_revision = "0011_positioning_approvals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prohibition_orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("document", sa.String(length=128), nullable=False),
        sa.Column("issued_by", sa.String(length=128), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.Column("curfew_from_hour", sa.Integer(), nullable=True),
        sa.Column("curfew_to_hour", sa.Integer(), nullable=True),
        sa.Column("home_radius_m", sa.Double(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            models.base.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("modified_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_prohibition_orders_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prohibition_orders")),
    )
    with op.batch_alter_table("prohibition_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prohibition_orders_subject_id"), ["subject_id"], unique=False
        )
    op.create_table(
        "no_contact",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["prohibition_orders.id"],
            name=op.f("fk_no_contact_order_id_prohibition_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["subjects.id"], name=op.f("fk_no_contact_person_id_subjects")
        ),
        sa.PrimaryKeyConstraint("order_id", "person_id", name=op.f("pk_no_contact")),
    )
    with op.batch_alter_table("geofences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_geofences_order_id"), ["order_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_geofences_order_id_prohibition_orders"),
            "prohibition_orders",
            ["order_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("geofences", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_geofences_order_id_prohibition_orders"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_geofences_order_id"))
        batch_op.drop_column("order_id")
    op.drop_table("no_contact")
    with op.batch_alter_table("prohibition_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prohibition_orders_subject_id"))
    op.drop_table("prohibition_orders")
