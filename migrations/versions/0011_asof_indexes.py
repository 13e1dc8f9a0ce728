"""Covering indexes for reads "as of" a time: membership, versions, mappings and the model_id -> model_key map

An as-of read (`hfsnap export --as-of`, `serve ?as_of=`, `queries.AsOf`) walks the models in model_id order and
looks up each one's membership, version and live mappings valid at a time: with these it reads the validity
ranges from the indexes instead of the rows (a version's row carries its 1.2 KB record), and a model's integer
key without its row.

Revision ID: 0011_asof_indexes
Revises: 0010_live_providers
Create Date: 2026-11-30
"""

from alembic import op

revision = "0011_asof_indexes"
down_revision = "0010_live_providers"
branch_labels = None
depends_on = None

# Frozen here (etl/schema.py declares the same): name, table, columns.
INDEXES = (
    ("ix_catalog_membership_as_of", "catalog_membership", ["model_id", "valid_from", "valid_to"]),
    ("ix_model_versions_as_of", "model_versions", ["model_id", "valid_from", "valid_to", "version_id"]),
    ("ix_model_providers_as_of", "model_providers", ["model_id", "valid_from", "valid_to", "status", "provider"]),
    ("ix_models_id_key", "models", ["model_id", "model_key"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table)
