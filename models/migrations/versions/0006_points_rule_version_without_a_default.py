"""points: rule_version without a server default

Every entry names the version of the rule that made it, so the sink writes it; a default
only hid a sink that left it out (an entry made under version 3 read back as 1). 0002 needed
the default to fill the rows already there when it added the column; every rule shipped so
far is version 1, so those rows are right and stay as they are.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.alter_column(
            "rule_version", existing_type=sa.Integer(), existing_nullable=False, server_default=None
        )


def downgrade() -> None:
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.alter_column(
            "rule_version", existing_type=sa.Integer(), existing_nullable=False, server_default="1"
        )
