"""providers.misses and providers.retired_run (providers that disappear); provider_offers.unmapped

A provider that huggingface_hub no longer knows, the router no longer lists and no mapping mentions is retired
after `retire_after_misses` such complete runs and no longer listed. An offer the router makes for a provider the
Hub does not map for that model is kept, flagged `unmapped`, and gives the catalog no price or context.

Revision ID: 0007_provider_retirement
Revises: 0005_browse_views
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_provider_retirement"
down_revision = "0005_browse_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers") as batch_op:
        batch_op.add_column(sa.Column("misses", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("retired_run", sa.Integer(), nullable=True))
    with op.batch_alter_table("provider_offers") as batch_op:
        batch_op.add_column(sa.Column("unmapped", sa.SmallInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would rename the table under views that read it
    # (catalog_changes, the browse views), which SQLite refuses.
    op.execute("ALTER TABLE provider_offers DROP COLUMN unmapped")
    op.execute("ALTER TABLE providers DROP COLUMN retired_run")
    op.execute("ALTER TABLE providers DROP COLUMN misses")
