"""catalog_membership.model_key: a member's integer key beside its text id, in the as-of index

An as-of read (`queries.AsOf.catalog_sql`) walked `models` only to learn each member's model_key (its counters are
keyed by it): a third lookup per model. The membership row now carries the key (copied from `models` when the row
opens) and its as-of index holds it, so the read is two lookups per model. Existing rows get their model's key.

Revision ID: 0012_membership_keys
Revises: 0011_asof_indexes
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_membership_keys"
down_revision = "0011_asof_indexes"
branch_labels = None
depends_on = None

# Frozen here (etl/schema.py declares the same).
INDEX = "ix_catalog_membership_as_of"
OLD_COLUMNS = ["model_id", "valid_from", "valid_to"]
NEW_COLUMNS = [*OLD_COLUMNS, "model_key"]


def upgrade() -> None:
    op.add_column("catalog_membership", sa.Column("model_key", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE catalog_membership SET model_key = "
        "(SELECT m.model_key FROM models m WHERE m.model_id = catalog_membership.model_id)"
    )
    op.drop_index(INDEX, "catalog_membership")
    op.create_index(INDEX, "catalog_membership", NEW_COLUMNS)


def downgrade() -> None:
    op.drop_index(INDEX, "catalog_membership")
    op.create_index(INDEX, "catalog_membership", OLD_COLUMNS)
    # SQLite 3.35+ and PostgreSQL drop a column in place (no view reads this one).
    op.execute("ALTER TABLE catalog_membership DROP COLUMN model_key")
