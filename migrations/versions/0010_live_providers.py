"""provider_live_models lists only providers not retired (providers.retired_run IS NULL, 0007)

A provider the Hub dropped keeps its `providers` row (its history stays readable), but the browse view of live
providers no longer lists it once it is retired.

Revision ID: 0010_live_providers
Revises: 0009_compact_facts
Create Date: 2026-11-30
"""

from alembic import op

revision = "0010_live_providers"
down_revision = "0009_compact_facts"
branch_labels = None
depends_on = None

# SQL frozen here (0009 wrote the OLD text); only the WHERE clause differs.
NEW = {
    "sqlite": """CREATE VIEW provider_live_models AS
SELECT p.provider AS provider, COALESCE(l.live_models, 0) AS live_models,
  COALESCE(h.probed_pairs, 0) AS probed_pairs, COALESCE(h.ok_pairs, 0) AS ok_pairs,
  p.known_to_client AS known_to_client, p.first_seen_run AS first_seen_run, p.last_seen_run AS last_seen_run
FROM providers p
LEFT JOIN (SELECT e.value AS provider, COUNT(*) AS live_models
           FROM catalog c CROSS JOIN json_each(c.providers) e GROUP BY e.value) l ON l.provider = p.provider
LEFT JOIN (SELECT provider, SUM(CASE WHEN outcome <> 'unsupported' THEN 1 ELSE 0 END) AS probed_pairs,
             SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END) AS ok_pairs
           FROM health_latest GROUP BY provider) h ON h.provider = p.provider
WHERE p.retired_run IS NULL""",
    "postgresql": """CREATE VIEW provider_live_models AS
SELECT p.provider AS provider, COALESCE(l.live_models, 0) AS live_models,
  COALESCE(h.probed_pairs, 0) AS probed_pairs, COALESCE(h.ok_pairs, 0) AS ok_pairs,
  p.known_to_client AS known_to_client, p.first_seen_run AS first_seen_run, p.last_seen_run AS last_seen_run
FROM providers p
LEFT JOIN (SELECT e.value AS provider, COUNT(*) AS live_models
           FROM catalog c CROSS JOIN LATERAL json_array_elements_text(CAST(c.providers AS json)) AS e(value)
  GROUP BY e.value) l ON l.provider = p.provider
LEFT JOIN (SELECT provider, SUM(CASE WHEN outcome <> 'unsupported' THEN 1 ELSE 0 END) AS probed_pairs,
             SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END) AS ok_pairs
           FROM health_latest GROUP BY provider) h ON h.provider = p.provider
WHERE p.retired_run IS NULL""",
}
OLD = {
    "sqlite": """CREATE VIEW provider_live_models AS
SELECT p.provider AS provider, COALESCE(l.live_models, 0) AS live_models,
  COALESCE(h.probed_pairs, 0) AS probed_pairs, COALESCE(h.ok_pairs, 0) AS ok_pairs,
  p.known_to_client AS known_to_client, p.first_seen_run AS first_seen_run, p.last_seen_run AS last_seen_run
FROM providers p
LEFT JOIN (SELECT e.value AS provider, COUNT(*) AS live_models
           FROM catalog c CROSS JOIN json_each(c.providers) e GROUP BY e.value) l ON l.provider = p.provider
LEFT JOIN (SELECT provider, SUM(CASE WHEN outcome <> 'unsupported' THEN 1 ELSE 0 END) AS probed_pairs,
             SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END) AS ok_pairs
           FROM health_latest GROUP BY provider) h ON h.provider = p.provider""",
    "postgresql": """CREATE VIEW provider_live_models AS
SELECT p.provider AS provider, COALESCE(l.live_models, 0) AS live_models,
  COALESCE(h.probed_pairs, 0) AS probed_pairs, COALESCE(h.ok_pairs, 0) AS ok_pairs,
  p.known_to_client AS known_to_client, p.first_seen_run AS first_seen_run, p.last_seen_run AS last_seen_run
FROM providers p
LEFT JOIN (SELECT e.value AS provider, COUNT(*) AS live_models
           FROM catalog c CROSS JOIN LATERAL json_array_elements_text(CAST(c.providers AS json)) AS e(value)
  GROUP BY e.value) l ON l.provider = p.provider
LEFT JOIN (SELECT provider, SUM(CASE WHEN outcome <> 'unsupported' THEN 1 ELSE 0 END) AS probed_pairs,
             SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END) AS ok_pairs
           FROM health_latest GROUP BY provider) h ON h.provider = p.provider""",
}


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS provider_live_models")
    op.execute(NEW[op.get_bind().dialect.name])


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS provider_live_models")
    op.execute(OLD[op.get_bind().dialect.name])
