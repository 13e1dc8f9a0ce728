"""models.raw_hash (skip unchanged items) and model_providers.in_item (mapping in the last transformed item)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models") as batch_op:
        batch_op.add_column(sa.Column("raw_hash", sa.String(length=40), nullable=True))
    with op.batch_alter_table("model_providers") as batch_op:
        batch_op.add_column(sa.Column("in_item", sa.SmallInteger(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("model_providers") as batch_op:
        batch_op.drop_column("in_item")
    with op.batch_alter_table("models") as batch_op:
        batch_op.drop_column("raw_hash")
