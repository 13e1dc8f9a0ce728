"""Partial indexes on rows with misses > 0 (miss resets and retirements read only those); drop ix_models_listed

An index on `listed`, 1 for nearly every row, only ever steered the planner away from ix_models_missed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_CURRENT_MISSED = "valid_to IS NULL AND misses > 0"


def upgrade() -> None:
    for table in ("model_providers", "provider_offers"):
        where = sa.text(_CURRENT_MISSED)
        op.create_index(f"ix_{table}_missed", table, ["model_id"], sqlite_where=where, postgresql_where=where)
    where = sa.text("listed = 1 AND misses > 0")
    op.create_index("ix_models_missed", "models", ["model_id"], sqlite_where=where, postgresql_where=where)
    op.drop_index("ix_models_listed", "models")


def downgrade() -> None:
    op.create_index("ix_models_listed", "models", ["listed"])
    op.drop_index("ix_models_missed", "models")
    for table in ("model_providers", "provider_offers"):
        op.drop_index(f"ix_{table}_missed", table)
