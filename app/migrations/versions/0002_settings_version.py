"""settings version on the shop; index of open fulfillment requests

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shop", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "settings_version", sa.Integer(), nullable=False, server_default="0"
            )
        )
    with op.batch_alter_table("fulfillment_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fulfillment_request_status_warehouse",
            ["status", "warehouse_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("fulfillment_request", schema=None) as batch_op:
        batch_op.drop_index("ix_fulfillment_request_status_warehouse")
    with op.batch_alter_table("shop", schema=None) as batch_op:
        batch_op.drop_column("settings_version")
