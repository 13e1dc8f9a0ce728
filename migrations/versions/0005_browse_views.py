"""views for browsing: last_run_changes, provider_live_models, models_lost_last_provider

Built on the contract views (catalog, catalog_changes, health_latest) and tables (runs, providers) only, so that
storage may change beneath them. The SQL is frozen here (not imported from etl/), as the migrations' rule is.

On PostgreSQL these views depend on catalog, catalog_changes and health_latest: a later migration that drops and
recreates one of those must drop these three first (DROP_ALL below, in order) and create them again afterwards
(create_statements(dialect)); SQLite does not check, PostgreSQL refuses the DROP.

Revision ID: 0005_browse_views
Revises: 0004
Create Date: 2026-11-30
"""

from alembic import op

revision = "0005_browse_views"
down_revision = "0004"
branch_labels = None
depends_on = None

# The last run that loaded anything (complete or partial; a failed run commits nothing but its runs row).
LAST_RUN_CHANGES = """CREATE VIEW last_run_changes AS
SELECT c.run_id AS run_id, c.changed_at AS changed_at, c.change AS change, c.model_id AS model_id,
  c.provider AS provider, c.before AS before, c.after AS after
FROM catalog_changes c
WHERE c.run_id = (SELECT MAX(r.run_id) FROM runs r WHERE r.status IN ('complete', 'partial'))"""

# One row per provider ever seen: the listed models it serves live now; of its pairs' latest probes (health_latest),
# how many were real probes (not `unsupported`) and how many answered ok.
_PROVIDER_LIVE_MODELS = """CREATE VIEW provider_live_models AS
SELECT p.provider AS provider, COALESCE(l.live_models, 0) AS live_models,
  COALESCE(h.probed_pairs, 0) AS probed_pairs, COALESCE(h.ok_pairs, 0) AS ok_pairs,
  p.known_to_client AS known_to_client, p.first_seen_run AS first_seen_run, p.last_seen_run AS last_seen_run
FROM providers p
LEFT JOIN (SELECT e.value AS provider, COUNT(*) AS live_models
           FROM catalog c {unnest} GROUP BY e.value) l ON l.provider = p.provider
LEFT JOIN (SELECT provider, SUM(CASE WHEN outcome <> 'unsupported' THEN 1 ELSE 0 END) AS probed_pairs,
             SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END) AS ok_pairs
           FROM health_latest GROUP BY provider) h ON h.provider = p.provider"""
_UNNEST = {
    "sqlite": "CROSS JOIN json_each(c.providers) e",
    "postgresql": "CROSS JOIN LATERAL json_array_elements_text(CAST(c.providers AS json)) AS e(value)",
}

# A model whose last live mapping ended (removed, or live -> staging/error) and that has no live provider now:
# still listed while retirement waits for proof (listed = 1), or already out of the catalog (listed = 0).
MODELS_LOST_LAST_PROVIDER = """CREATE VIEW models_lost_last_provider AS
SELECT x.model_id AS model_id, x.provider AS last_provider, x.changed_at AS lost_at, x.run_id AS run_id,
  x.change AS change, x.after AS status_now,
  CASE WHEN x.model_id IN (SELECT id FROM catalog) THEN 1 ELSE 0 END AS listed
FROM (SELECT c.model_id, c.provider, c.changed_at, c.run_id, c.change, c.after,
        ROW_NUMBER() OVER (PARTITION BY c.model_id ORDER BY c.run_id DESC, c.provider DESC) AS rn
      FROM catalog_changes c
      WHERE c.change IN ('provider_removed', 'provider_status') AND c.before = 'live') x
WHERE x.rn = 1 AND x.model_id NOT IN (SELECT id FROM catalog WHERE providers <> '[]')"""

DROP_ALL = [
    "DROP VIEW IF EXISTS models_lost_last_provider",
    "DROP VIEW IF EXISTS provider_live_models",
    "DROP VIEW IF EXISTS last_run_changes",
]


def create_statements(dialect: str) -> list[str]:
    unnest = _UNNEST["postgresql" if dialect == "postgresql" else "sqlite"]
    return [LAST_RUN_CHANGES, _PROVIDER_LIVE_MODELS.format(unnest=unnest), MODELS_LOST_LAST_PROVIDER]


def upgrade() -> None:
    for statement in create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_ALL:
        op.execute(statement)
