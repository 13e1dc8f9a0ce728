"""Compact facts: integer model keys; metrics and rankings stored as spans over runs; model_metrics and
model_rankings become views giving, for every committed run, one row per model (or rank) seen in it.

Converts in place and loses no value: consecutive committed runs with equal values become one span.

Revision ID: 0009_compact_facts
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_compact_facts"
down_revision = "0004"
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
    op.execute("DROP VIEW catalog")
    op.drop_index("ix_model_metrics_model", "model_metrics")
    op.drop_table("model_metrics")
    op.drop_table("model_rankings")
    for statement in NEW_VIEWS[dialect]:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
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
    op.execute(OLD_CATALOG[dialect])
