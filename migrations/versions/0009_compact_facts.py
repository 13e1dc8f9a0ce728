"""Compact facts: integer model keys; metrics and rankings stored as spans over runs; model_metrics and
model_rankings become views giving, for every committed run, one row per model (or rank) seen in it.

Converts in place and loses no value: consecutive committed runs with equal values become one span.

Revision ID: 0009_compact_facts
Revises: 0007_provider_retirement
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_compact_facts"
down_revision = "0007_provider_retirement"
branch_labels = None
depends_on = None

NEW_VIEWS = {
    "sqlite": (
        """CREATE VIEW catalog AS
SELECT json_extract(v.record, '$.id') AS id, json_extract(v.record, '$.name') AS name, json_extract(v.record,
  '$.slug') AS slug, json_extract(v.record, '$.hugging_face_id') AS hugging_face_id,
  json_extract(v.record, '$.provider_slug') AS provider_slug, json_extract(v.record, '$.provider_site_url') AS
  provider_site_url,
  json_extract(v.record, '$.source_gateway') AS source_gateway, json_extract(v.record, '$.created') AS
  created, json_extract(v.record, '$.description') AS description,
  json_extract(v.record, '$.context_length') AS context_length,
  json_extract(v.record, '$.architecture.modality') AS modality, json_extract(v.record,
  '$.architecture.input_modalities') AS input_modalities,
  json_extract(v.record, '$.architecture.output_modalities') AS output_modalities, json_extract(v.record,
  '$.architecture.tokenizer') AS tokenizer,
  json_extract(v.record, '$.architecture.instruct_type') AS instruct_type,
  json_extract(v.record, '$.pricing.prompt') AS pricing_prompt, json_extract(v.record, '$.pricing.completion')
  AS pricing_completion,
  json_extract(v.record, '$.pricing.request') AS pricing_request, json_extract(v.record, '$.pricing.image') AS
  pricing_image,
  json_extract(v.record, '$.pricing.web_search') AS pricing_web_search, json_extract(v.record,
  '$.pricing.internal_reasoning') AS pricing_internal_reasoning,
  mm.downloads AS downloads, mm.likes AS likes, m.pipeline_tag AS pipeline_tag, m.num_parameters AS
  num_parameters,
  m.gated AS gated, m.private AS private, m.last_modified AS last_modified, m.author AS author,
  json_extract(v.record, '$.huggingface_metrics.url') AS url, m.license AS license, m.library_name AS
  library_name,
  (SELECT json_group_array(provider) FROM (SELECT p.provider FROM model_providers p WHERE p.model_id =
  m.model_id AND p.valid_to IS NULL AND p.status = 'live' ORDER BY p.provider)) AS providers
FROM models m
JOIN model_versions v ON v.model_id = m.model_id AND v.valid_to IS NULL
LEFT JOIN metric_spans mm ON mm.model_key = m.model_key AND mm.run_from <= m.last_seen_run
  AND (mm.run_to IS NULL OR mm.run_to > m.last_seen_run)
WHERE m.listed = 1""",
        """CREATE VIEW model_metrics AS
SELECT r.run_id AS run_id, m.model_id AS model_id, s.downloads AS downloads, s.likes AS likes,
  s.trending_score AS trending_score, s.downloads_all_time AS downloads_all_time
FROM metric_spans s JOIN runs r ON r.run_id >= s.run_from AND r.status IN ('complete', 'partial')
JOIN models m ON m.model_key = s.model_key
WHERE s.run_to IS NULL
UNION ALL
SELECT r.run_id, m.model_id AS model_id, s.downloads AS downloads, s.likes AS likes, s.trending_score AS
  trending_score, s.downloads_all_time AS downloads_all_time
FROM metric_spans s JOIN runs r ON r.run_id >= s.run_from AND r.run_id < s.run_to AND r.status IN ('complete',
  'partial')
JOIN models m ON m.model_key = s.model_key
WHERE s.run_to IS NOT NULL""",
        """CREATE VIEW model_rankings AS
SELECT r.run_id AS run_id, s.source AS source, s.sort AS sort, s."rank" AS "rank", s.model_id AS model_id
FROM ranking_spans s JOIN runs r ON r.run_id >= s.run_from AND r.status IN ('complete', 'partial')
WHERE s.run_to IS NULL
UNION ALL
SELECT r.run_id, s.source AS source, s.sort AS sort, s."rank" AS "rank", s.model_id AS model_id
FROM ranking_spans s JOIN runs r ON r.run_id >= s.run_from AND r.run_id < s.run_to AND r.status IN
  ('complete', 'partial')
WHERE s.run_to IS NOT NULL""",
    ),
    "postgresql": (
        """CREATE VIEW catalog AS
SELECT (j.record #>> '{id}') AS id, (j.record #>> '{name}') AS name, (j.record #>> '{slug}') AS slug,
  (j.record #>> '{hugging_face_id}') AS hugging_face_id,
  (j.record #>> '{provider_slug}') AS provider_slug, (j.record #>> '{provider_site_url}') AS
  provider_site_url,
  (j.record #>> '{source_gateway}') AS source_gateway, CAST((j.record #>> '{created}') AS BIGINT) AS created,
  (j.record #>> '{description}') AS description,
  CAST((j.record #>> '{context_length}') AS BIGINT) AS context_length,
  (j.record #>> '{architecture,modality}') AS modality, (j.record #>> '{architecture,input_modalities}') AS
  input_modalities,
  (j.record #>> '{architecture,output_modalities}') AS output_modalities, (j.record #>>
  '{architecture,tokenizer}') AS tokenizer,
  (j.record #>> '{architecture,instruct_type}') AS instruct_type,
  (j.record #>> '{pricing,prompt}') AS pricing_prompt, (j.record #>> '{pricing,completion}') AS
  pricing_completion,
  (j.record #>> '{pricing,request}') AS pricing_request, (j.record #>> '{pricing,image}') AS pricing_image,
  (j.record #>> '{pricing,web_search}') AS pricing_web_search, (j.record #>> '{pricing,internal_reasoning}')
  AS pricing_internal_reasoning,
  mm.downloads AS downloads, mm.likes AS likes, m.pipeline_tag AS pipeline_tag, m.num_parameters AS
  num_parameters,
  m.gated AS gated, m.private AS private, m.last_modified AS last_modified, m.author AS author,
  (j.record #>> '{huggingface_metrics,url}') AS url, m.license AS license, m.library_name AS library_name,
  (SELECT '[' || COALESCE(string_agg(to_json(p.provider)::text, ',' ORDER BY p.provider), '') || ']' FROM
  model_providers p WHERE p.model_id = m.model_id AND p.valid_to IS NULL AND p.status = 'live') AS providers
FROM models m
JOIN model_versions v ON v.model_id = m.model_id AND v.valid_to IS NULL
CROSS JOIN LATERAL (SELECT CAST(v.record AS json) AS record) j
LEFT JOIN metric_spans mm ON mm.model_key = m.model_key AND mm.run_from <= m.last_seen_run
  AND (mm.run_to IS NULL OR mm.run_to > m.last_seen_run)
WHERE m.listed = 1""",
        """CREATE VIEW model_metrics AS
SELECT r.run_id AS run_id, m.model_id AS model_id, s.downloads AS downloads, s.likes AS likes,
  s.trending_score AS trending_score, s.downloads_all_time AS downloads_all_time
FROM metric_spans s JOIN runs r ON r.run_id >= s.run_from AND r.status IN ('complete', 'partial')
JOIN models m ON m.model_key = s.model_key
WHERE s.run_to IS NULL
UNION ALL
SELECT r.run_id, m.model_id AS model_id, s.downloads AS downloads, s.likes AS likes, s.trending_score AS
  trending_score, s.downloads_all_time AS downloads_all_time
FROM metric_spans s JOIN runs r ON r.run_id >= s.run_from AND r.run_id < s.run_to AND r.status IN ('complete',
  'partial')
JOIN models m ON m.model_key = s.model_key
WHERE s.run_to IS NOT NULL""",
        """CREATE VIEW model_rankings AS
SELECT r.run_id AS run_id, s.source AS source, s.sort AS sort, s."rank" AS "rank", s.model_id AS model_id
FROM ranking_spans s JOIN runs r ON r.run_id >= s.run_from AND r.status IN ('complete', 'partial')
WHERE s.run_to IS NULL
UNION ALL
SELECT r.run_id, s.source AS source, s.sort AS sort, s."rank" AS "rank", s.model_id AS model_id
FROM ranking_spans s JOIN runs r ON r.run_id >= s.run_from AND r.run_id < s.run_to AND r.status IN
  ('complete', 'partial')
WHERE s.run_to IS NOT NULL""",
    ),
}

OLD_CATALOG = {
    "sqlite": """CREATE VIEW catalog AS
SELECT json_extract(v.record, '$.id') AS id, json_extract(v.record, '$.name') AS name, json_extract(v.record,
  '$.slug') AS slug, json_extract(v.record, '$.hugging_face_id') AS hugging_face_id,
  json_extract(v.record, '$.provider_slug') AS provider_slug, json_extract(v.record, '$.provider_site_url') AS
  provider_site_url,
  json_extract(v.record, '$.source_gateway') AS source_gateway, json_extract(v.record, '$.created') AS
  created, json_extract(v.record, '$.description') AS description,
  json_extract(v.record, '$.context_length') AS context_length,
  json_extract(v.record, '$.architecture.modality') AS modality, json_extract(v.record,
  '$.architecture.input_modalities') AS input_modalities,
  json_extract(v.record, '$.architecture.output_modalities') AS output_modalities, json_extract(v.record,
  '$.architecture.tokenizer') AS tokenizer,
  json_extract(v.record, '$.architecture.instruct_type') AS instruct_type,
  json_extract(v.record, '$.pricing.prompt') AS pricing_prompt, json_extract(v.record, '$.pricing.completion')
  AS pricing_completion,
  json_extract(v.record, '$.pricing.request') AS pricing_request, json_extract(v.record, '$.pricing.image') AS
  pricing_image,
  json_extract(v.record, '$.pricing.web_search') AS pricing_web_search, json_extract(v.record,
  '$.pricing.internal_reasoning') AS pricing_internal_reasoning,
  mm.downloads AS downloads, mm.likes AS likes, m.pipeline_tag AS pipeline_tag, m.num_parameters AS
  num_parameters,
  m.gated AS gated, m.private AS private, m.last_modified AS last_modified, m.author AS author,
  json_extract(v.record, '$.huggingface_metrics.url') AS url, m.license AS license, m.library_name AS
  library_name,
  (SELECT json_group_array(provider) FROM (SELECT p.provider FROM model_providers p WHERE p.model_id =
  m.model_id AND p.valid_to IS NULL AND p.status = 'live' ORDER BY p.provider)) AS providers
FROM models m
JOIN model_versions v ON v.model_id = m.model_id AND v.valid_to IS NULL
LEFT JOIN model_metrics mm ON mm.model_id = m.model_id AND mm.run_id = m.last_seen_run
WHERE m.listed = 1""",
    "postgresql": """CREATE VIEW catalog AS
SELECT (j.record #>> '{id}') AS id, (j.record #>> '{name}') AS name, (j.record #>> '{slug}') AS slug,
  (j.record #>> '{hugging_face_id}') AS hugging_face_id,
  (j.record #>> '{provider_slug}') AS provider_slug, (j.record #>> '{provider_site_url}') AS
  provider_site_url,
  (j.record #>> '{source_gateway}') AS source_gateway, CAST((j.record #>> '{created}') AS BIGINT) AS created,
  (j.record #>> '{description}') AS description,
  CAST((j.record #>> '{context_length}') AS BIGINT) AS context_length,
  (j.record #>> '{architecture,modality}') AS modality, (j.record #>> '{architecture,input_modalities}') AS
  input_modalities,
  (j.record #>> '{architecture,output_modalities}') AS output_modalities, (j.record #>>
  '{architecture,tokenizer}') AS tokenizer,
  (j.record #>> '{architecture,instruct_type}') AS instruct_type,
  (j.record #>> '{pricing,prompt}') AS pricing_prompt, (j.record #>> '{pricing,completion}') AS
  pricing_completion,
  (j.record #>> '{pricing,request}') AS pricing_request, (j.record #>> '{pricing,image}') AS pricing_image,
  (j.record #>> '{pricing,web_search}') AS pricing_web_search, (j.record #>> '{pricing,internal_reasoning}')
  AS pricing_internal_reasoning,
  mm.downloads AS downloads, mm.likes AS likes, m.pipeline_tag AS pipeline_tag, m.num_parameters AS
  num_parameters,
  m.gated AS gated, m.private AS private, m.last_modified AS last_modified, m.author AS author,
  (j.record #>> '{huggingface_metrics,url}') AS url, m.license AS license, m.library_name AS library_name,
  (SELECT '[' || COALESCE(string_agg(to_json(p.provider)::text, ',' ORDER BY p.provider), '') || ']' FROM
  model_providers p WHERE p.model_id = m.model_id AND p.valid_to IS NULL AND p.status = 'live') AS providers
FROM models m
JOIN model_versions v ON v.model_id = m.model_id AND v.valid_to IS NULL
CROSS JOIN LATERAL (SELECT CAST(v.record AS json) AS record) j
LEFT JOIN model_metrics mm ON mm.model_id = m.model_id AND mm.run_id = m.last_seen_run
WHERE m.listed = 1""",
}

# The browse views of 0005 read `catalog`: PostgreSQL refuses to drop it under them, so they are dropped first
# and created again after (their SQL frozen as 0005 wrote it).
BROWSE_DROP = (
    "DROP VIEW IF EXISTS models_lost_last_provider",
    "DROP VIEW IF EXISTS provider_live_models",
    "DROP VIEW IF EXISTS last_run_changes",
)
BROWSE_CREATE = {
    "sqlite": (
        """CREATE VIEW last_run_changes AS
SELECT c.run_id AS run_id, c.changed_at AS changed_at, c.change AS change, c.model_id AS model_id,
  c.provider AS provider, c.before AS before, c.after AS after
FROM catalog_changes c
WHERE c.run_id = (SELECT MAX(r.run_id) FROM runs r WHERE r.status IN ('complete', 'partial'))""",
        """CREATE VIEW provider_live_models AS
SELECT p.provider AS provider, COALESCE(l.live_models, 0) AS live_models,
  COALESCE(h.probed_pairs, 0) AS probed_pairs, COALESCE(h.ok_pairs, 0) AS ok_pairs,
  p.known_to_client AS known_to_client, p.first_seen_run AS first_seen_run, p.last_seen_run AS last_seen_run
FROM providers p
LEFT JOIN (SELECT e.value AS provider, COUNT(*) AS live_models
           FROM catalog c CROSS JOIN json_each(c.providers) e GROUP BY e.value) l ON l.provider = p.provider
LEFT JOIN (SELECT provider, SUM(CASE WHEN outcome <> 'unsupported' THEN 1 ELSE 0 END) AS probed_pairs,
             SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END) AS ok_pairs
           FROM health_latest GROUP BY provider) h ON h.provider = p.provider""",
        """CREATE VIEW models_lost_last_provider AS
SELECT x.model_id AS model_id, x.provider AS last_provider, x.changed_at AS lost_at, x.run_id AS run_id,
  x.change AS change, x.after AS status_now,
  CASE WHEN x.model_id IN (SELECT id FROM catalog) THEN 1 ELSE 0 END AS listed
FROM (SELECT c.model_id, c.provider, c.changed_at, c.run_id, c.change, c.after,
        ROW_NUMBER() OVER (PARTITION BY c.model_id ORDER BY c.run_id DESC, c.provider DESC) AS rn
      FROM catalog_changes c
      WHERE c.change IN ('provider_removed', 'provider_status') AND c.before = 'live') x
WHERE x.rn = 1 AND x.model_id NOT IN (SELECT id FROM catalog WHERE providers <> '[]')""",
    ),
    "postgresql": (
        """CREATE VIEW last_run_changes AS
SELECT c.run_id AS run_id, c.changed_at AS changed_at, c.change AS change, c.model_id AS model_id,
  c.provider AS provider, c.before AS before, c.after AS after
FROM catalog_changes c
WHERE c.run_id = (SELECT MAX(r.run_id) FROM runs r WHERE r.status IN ('complete', 'partial'))""",
        """CREATE VIEW provider_live_models AS
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
        """CREATE VIEW models_lost_last_provider AS
SELECT x.model_id AS model_id, x.provider AS last_provider, x.changed_at AS lost_at, x.run_id AS run_id,
  x.change AS change, x.after AS status_now,
  CASE WHEN x.model_id IN (SELECT id FROM catalog) THEN 1 ELSE 0 END AS listed
FROM (SELECT c.model_id, c.provider, c.changed_at, c.run_id, c.change, c.after,
        ROW_NUMBER() OVER (PARTITION BY c.model_id ORDER BY c.run_id DESC, c.provider DESC) AS rn
      FROM catalog_changes c
      WHERE c.change IN ('provider_removed', 'provider_status') AND c.before = 'live') x
WHERE x.rn = 1 AND x.model_id NOT IN (SELECT id FROM catalog WHERE providers <> '[]')""",
    ),
}

COMMITTED = (
    "SELECT run_id, ROW_NUMBER() OVER (ORDER BY run_id) AS ord FROM runs WHERE status IN ('complete', 'partial')"
)

# Run-length encoding with window functions: a span starts where the previous stored row of its key is not in the
# previous committed run, or its values differ; it ends (run_to) at the committed run after its last one.
SPANS = """WITH committed AS ({committed}),
facts AS (
  SELECT {key_expr}, f.run_id AS run_id, c.ord AS ord, {vals_expr},
    LAG(c.ord) OVER w AS prev_ord, {lags}
  FROM {source} f JOIN committed c ON c.run_id = f.run_id{join}
  WINDOW w AS (PARTITION BY {key_w} ORDER BY f.run_id)
),
marked AS (
  SELECT facts.*, SUM(CASE WHEN prev_ord IS NULL OR prev_ord <> ord - 1 {differs} THEN 1 ELSE 0 END)
    OVER (PARTITION BY {keys} ORDER BY run_id ROWS UNBOUNDED PRECEDING) AS grp
  FROM facts
),
spans AS (
  SELECT {keys}, MIN(run_id) AS run_from, MAX(ord) AS last_ord, {mins} FROM marked GROUP BY {keys}, grp
)
INSERT INTO {target} ({keys}, run_from, run_to, {vals})
SELECT {s_keys}, s.run_from, n.run_id, {s_vals} FROM spans s LEFT JOIN committed n ON n.ord = s.last_ord + 1"""


def _spans_sql(
    dialect: str, target: str, source: str, keys: list[tuple[str, str]], vals: list[tuple[str, str]], join: str = ""
) -> str:
    """keys and vals: (name in the target, expression over f (the old table) and k (models, if joined))."""
    distinct = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    key_names = [n for n, _ in keys]
    val_names = [n for n, _ in vals]
    return SPANS.format(
        committed=COMMITTED,
        source=source,
        join=join,
        key_expr=", ".join(f"{e} AS {n}" for n, e in keys),
        key_w=", ".join(e for _, e in keys),
        vals_expr=", ".join(f"{e} AS {n}" for n, e in vals),
        lags=", ".join(f"LAG({e}) OVER w AS prev_{n}" for n, e in vals),
        differs=" ".join(f"OR prev_{n} {distinct} {n}" for n in val_names),
        keys=", ".join(key_names),
        mins=", ".join(f"MIN({n}) AS {n}" for n in val_names),
        target=target,
        vals=", ".join(val_names),
        s_keys=", ".join(f"s.{n}" for n in key_names),
        s_vals=", ".join(f"s.{n}" for n in val_names),
    )


def _span_indexes(table: str, cols: list[str]) -> None:
    op.create_index(
        f"ux_{table}_open",
        table,
        cols,
        unique=True,
        sqlite_where=sa.text("run_to IS NULL"),
        postgresql_where=sa.text("run_to IS NULL"),
    )
    op.create_index(
        f"ix_{table}_run_to",
        table,
        ["run_to"],
        sqlite_where=sa.text("run_to IS NOT NULL"),
        postgresql_where=sa.text("run_to IS NOT NULL"),
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("models", sa.Column("model_key", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE models SET model_key = k.n FROM (SELECT model_id, ROW_NUMBER() OVER (ORDER BY model_id) AS n "
        "FROM models) k WHERE k.model_id = models.model_id"
    )
    op.create_index("ux_models_key", "models", ["model_key"], unique=True)
    op.create_table(
        "metric_spans",
        sa.Column("model_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_from", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_to", sa.Integer(), nullable=True),
        sa.Column("downloads", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.Integer(), nullable=True),
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.Column("downloads_all_time", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("model_key", "run_from"),
        sqlite_with_rowid=False,
    )
    _span_indexes("metric_spans", ["model_key"])
    op.create_table(
        "ranking_spans",
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("sort", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_from", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_to", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("source", "sort", "rank", "run_from"),
        sqlite_with_rowid=False,
    )
    _span_indexes("ranking_spans", ["source", "sort", "rank"])
    metrics = ("downloads", "likes", "trending_score", "downloads_all_time")
    op.execute(
        _spans_sql(
            dialect,
            "metric_spans",
            "model_metrics",
            [("model_key", "k.model_key")],
            [(c, f"f.{c}") for c in metrics],
            " JOIN models k ON k.model_id = f.model_id",
        )
    )
    op.execute(
        _spans_sql(
            dialect,
            "ranking_spans",
            "model_rankings",
            [("source", "f.source"), ("sort", "f.sort"), ("rank", 'f."rank"')],
            [("model_id", "f.model_id")],
        )
    )
    for statement in BROWSE_DROP:
        op.execute(statement)
    op.execute("DROP VIEW catalog")
    op.drop_index("ix_model_metrics_model", "model_metrics")
    op.drop_table("model_metrics")
    op.drop_table("model_rankings")
    for statement in (*NEW_VIEWS[dialect], *BROWSE_CREATE[dialect]):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in BROWSE_DROP:
        op.execute(statement)
    for name in ("model_rankings", "model_metrics", "catalog"):
        op.execute(f"DROP VIEW {name}")
    op.create_table(
        "model_metrics",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=255), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.Integer(), nullable=True),
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.Column("downloads_all_time", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "model_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_model_metrics_model", "model_metrics", ["model_id", "run_id"])
    op.create_table(
        "model_rankings",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("sort", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "source", "sort", "rank"),
        sqlite_with_rowid=False,
    )
    covers = (
        "r.run_id >= s.run_from AND (s.run_to IS NULL OR r.run_id < s.run_to) AND r.status IN ('complete', 'partial')"
    )
    op.execute(
        "INSERT INTO model_metrics SELECT r.run_id, m.model_id, s.downloads, s.likes, s.trending_score, "
        f"s.downloads_all_time FROM metric_spans s JOIN runs r ON {covers} JOIN models m ON m.model_key = s.model_key"
    )
    op.execute(
        'INSERT INTO model_rankings SELECT r.run_id, s.source, s.sort, s."rank", s.model_id '
        f"FROM ranking_spans s JOIN runs r ON {covers}"
    )
    op.drop_table("ranking_spans")
    op.drop_table("metric_spans")
    op.drop_index("ux_models_key", "models")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("model_key")
    for statement in (OLD_CATALOG[dialect], *BROWSE_CREATE[dialect]):
        op.execute(statement)
