"""catalog_spans: the catalog as spans in which a member's version and its membership are both unchanged

A read "as of" a time (`queries.AsOf`) looked up, for every version valid then, the model's membership and its
counters: two B-tree descents per model. This table holds the overlaps of membership and version rows of each model
(one row each, with the version and the model's integer key), so the read walks one table and looks up only the
counters. Filled here from the existing history exactly as the loader would have written it; the loader keeps it
from now on, in the same merge transaction.

Revision ID: 0013_catalog_spans
Revises: 0012_membership_keys
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_catalog_spans"
down_revision = "0012_membership_keys"
branch_labels = None
depends_on = None

# Frozen here (etl/scd2.py's SPANS and load.py's _merge_spans write the same rows run by run): every membership row
# against every version row of its model that overlaps it by at least one run; a span starts at the later start and
# ends at the earlier end (NULL: still open).
FILL = """INSERT INTO catalog_spans (model_id, run_from, run_to, valid_from, valid_to, version_id, model_key)
SELECT v.model_id,
  CASE WHEN v.run_from >= c.run_from THEN v.run_from ELSE c.run_from END,
  CASE WHEN v.run_to IS NULL THEN c.run_to WHEN c.run_to IS NULL OR v.run_to <= c.run_to THEN v.run_to
    ELSE c.run_to END,
  CASE WHEN v.run_from >= c.run_from THEN v.valid_from ELSE c.valid_from END,
  CASE WHEN v.run_to IS NULL THEN c.valid_to WHEN c.run_to IS NULL OR v.run_to <= c.run_to THEN v.valid_to
    ELSE c.valid_to END,
  v.version_id, c.model_key
FROM model_versions v JOIN catalog_membership c ON c.model_id = v.model_id
WHERE (c.run_to IS NULL OR v.run_from < c.run_to) AND (v.run_to IS NULL OR c.run_from < v.run_to)
ORDER BY v.model_id, 2"""


def upgrade() -> None:
    op.create_table(
        "catalog_spans",
        sa.Column("model_id", sa.String(length=255), nullable=False),
        sa.Column("run_from", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_to", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.String(length=32), nullable=False),
        sa.Column("valid_to", sa.String(length=32), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("model_key", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("model_id", "run_from"),
        sqlite_with_rowid=False,
    )
    op.execute(FILL)


def downgrade() -> None:
    op.drop_table("catalog_spans")
