"""The SQL views of SPEC section 5, written once per dialect (SQLite json_extract, PostgreSQL json operators).

Every view reads the same on both: the same columns, and the same text where a value is rendered as text
(compact JSON lists, floats as SQLite prints them), so `diff`, `export` and plain SQL agree across backends.
"""

from __future__ import annotations


def _json(dialect: str, column: str, path: str, cast: str | None = None) -> str:
    """A JSON field of a TEXT column; `path` is dotted (architecture.modality).

    PostgreSQL reads `column` as the `json` type (not jsonb): it keeps the stored compact text of nested
    lists, as SQLite's json_extract returns it.
    """
    if dialect == "postgresql":
        expr = f"({column} #>> '{{{path.replace('.', ',')}}}')"
        return f"CAST({expr} AS {cast})" if cast else expr
    return f"json_extract({column}, '$.{path}')"


def _providers_list(dialect: str) -> str:
    """JSON list of a model's live provider ids, sorted, compact (["a","b"]) on both dialects."""
    inner = "FROM model_providers p WHERE p.model_id = m.model_id AND p.valid_to IS NULL AND p.status = 'live'"
    if dialect == "postgresql":
        agg = "string_agg(to_json(p.provider)::text, ',' ORDER BY p.provider)"
        return f"(SELECT '[' || COALESCE({agg}, '') || ']' {inner})"
    return f"(SELECT json_group_array(provider) FROM (SELECT p.provider {inner} ORDER BY p.provider))"


def catalog_sql(d: str) -> str:
    record = "j.record" if d == "postgresql" else "v.record"

    def j(path: str, cast: str | None = None) -> str:
        return _json(d, record, path, cast)

    # PostgreSQL: parse each record once per row, not once per column.
    parse = "\nCROSS JOIN LATERAL (SELECT CAST(v.record AS json) AS record) j" if d == "postgresql" else ""
    return f"""CREATE VIEW catalog AS
SELECT {j("id")} AS id, {j("name")} AS name, {j("slug")} AS slug, {j("hugging_face_id")} AS hugging_face_id,
  {j("provider_slug")} AS provider_slug, {j("provider_site_url")} AS provider_site_url,
  {j("source_gateway")} AS source_gateway, {j("created", "BIGINT")} AS created, {j("description")} AS description,
  {j("context_length", "BIGINT")} AS context_length,
  {j("architecture.modality")} AS modality, {j("architecture.input_modalities")} AS input_modalities,
  {j("architecture.output_modalities")} AS output_modalities, {j("architecture.tokenizer")} AS tokenizer,
  {j("architecture.instruct_type")} AS instruct_type,
  {j("pricing.prompt")} AS pricing_prompt, {j("pricing.completion")} AS pricing_completion,
  {j("pricing.request")} AS pricing_request, {j("pricing.image")} AS pricing_image,
  {j("pricing.web_search")} AS pricing_web_search, {j("pricing.internal_reasoning")} AS pricing_internal_reasoning,
  mm.downloads AS downloads, mm.likes AS likes, m.pipeline_tag AS pipeline_tag, m.num_parameters AS num_parameters,
  m.gated AS gated, m.private AS private, m.last_modified AS last_modified, m.author AS author,
  {j("huggingface_metrics.url")} AS url, m.license AS license, m.library_name AS library_name,
  {_providers_list(d)} AS providers
FROM models m
JOIN model_versions v ON v.model_id = m.model_id AND v.valid_to IS NULL{parse}
LEFT JOIN metric_spans mm ON mm.model_key = m.model_key AND mm.run_from <= m.last_seen_run
  AND (mm.run_to IS NULL OR mm.run_to > m.last_seen_run)
WHERE m.listed = 1"""


def _txt(expr: str) -> str:
    return f"COALESCE(CAST({expr} AS TEXT), '-')"


def _real_txt(dialect: str, expr: str) -> str:
    """A float as SQLite prints it (123.0, 0.5): PostgreSQL drops the '.0' of integral values."""
    if dialect == "postgresql":
        expr = (
            f"CASE WHEN {expr} = trunc({expr}) AND abs({expr}) < 1e15 "
            f"THEN CAST(CAST({expr} AS BIGINT) AS TEXT) || '.0' ELSE CAST({expr} AS TEXT) END"
        )
    return _txt(expr)


def _offer(d: str, alias: str) -> str:
    return (
        f"'in=' || {_real_txt(d, alias + '.price_input')} || ' out=' || {_real_txt(d, alias + '.price_output')}"
        f" || ' ctx=' || {_txt(alias + '.context_length')} || ' status=' || {_txt(alias + '.status')}"
    )


def catalog_changes_sql(d: str) -> str:
    return f"""CREATE VIEW catalog_changes AS
SELECT c.run_from AS run_id, c.valid_from AS changed_at, c.model_id AS model_id, CAST(NULL AS TEXT) AS provider,
  CASE WHEN EXISTS (SELECT 1 FROM catalog_membership e WHERE e.model_id = c.model_id AND e.run_from < c.run_from)
       THEN 'restored' ELSE 'added' END AS change, CAST(NULL AS TEXT) AS before, CAST(NULL AS TEXT) AS after
FROM catalog_membership c
UNION ALL
SELECT c.run_to, c.valid_to, c.model_id, NULL, 'removed', NULL, NULL
FROM catalog_membership c WHERE c.valid_to IS NOT NULL
UNION ALL
SELECT v.run_from, v.valid_from, v.model_id, NULL, 'changed', p.row_hash, v.row_hash
FROM model_versions v JOIN model_versions p ON p.model_id = v.model_id AND p.run_to = v.run_from
UNION ALL
SELECT g.run_from, g.valid_from, g.model_id, NULL, 'gating', p.gated, g.gated
FROM gating_history g JOIN gating_history p ON p.model_id = g.model_id AND p.run_to = g.run_from
WHERE p.gated <> g.gated
UNION ALL
SELECT n.run_from, n.valid_from, n.model_id, n.provider, 'provider_added', NULL, n.status
FROM model_providers n WHERE NOT EXISTS (SELECT 1 FROM model_providers p
  WHERE p.model_id = n.model_id AND p.provider = n.provider AND p.run_to = n.run_from)
UNION ALL
SELECT p.run_to, p.valid_to, p.model_id, p.provider, 'provider_removed', p.status, NULL
FROM model_providers p WHERE p.valid_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM model_providers n
  WHERE n.model_id = p.model_id AND n.provider = p.provider AND n.run_from = p.run_to)
UNION ALL
SELECT n.run_from, n.valid_from, n.model_id, n.provider,
  CASE WHEN p.status <> n.status THEN 'provider_status' ELSE 'changed' END,
  CASE WHEN p.status <> n.status THEN p.status ELSE {_txt("p.provider_model_id")} || ' ' || {_txt("p.task")} END,
  CASE WHEN p.status <> n.status THEN n.status ELSE {_txt("n.provider_model_id")} || ' ' || {_txt("n.task")} END
FROM model_providers n
JOIN model_providers p ON p.model_id = n.model_id AND p.provider = n.provider AND p.run_to = n.run_from
UNION ALL
SELECT n.run_from, n.valid_from, n.model_id, n.provider, 'price',
  (SELECT {_offer(d, "p")} FROM provider_offers p
   WHERE p.model_id = n.model_id AND p.provider = n.provider AND p.run_to = n.run_from),
  {_offer(d, "n")}
FROM provider_offers n
UNION ALL
SELECT p.run_to, p.valid_to, p.model_id, p.provider, 'price', {_offer(d, "p")}, NULL
FROM provider_offers p WHERE p.valid_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM provider_offers n
  WHERE n.model_id = p.model_id AND n.provider = p.provider AND n.run_from = p.run_to)"""


HEALTH_LATEST = """CREATE VIEW health_latest AS
SELECT h.model_id AS model_id, h.provider AS provider, h.checked_at AS checked_at, h.outcome AS outcome,
  h.latency_ms AS latency_ms, h.http_status AS http_status, h.error AS error,
  (SELECT CAST(SUM(CASE WHEN x.outcome = 'ok' THEN 1 ELSE 0 END) AS FLOAT)
          / NULLIF(SUM(CASE WHEN x.outcome <> 'unsupported' THEN 1 ELSE 0 END), 0)
   FROM health_checks x WHERE x.model_id = h.model_id AND x.provider = h.provider
   AND x.checked_epoch > h.checked_epoch - 86400) AS ok_ratio_24h
FROM health_checks h
WHERE h.check_id = (SELECT MAX(y.check_id) FROM health_checks y
                    WHERE y.model_id = h.model_id AND y.provider = h.provider)"""


def _spans_view(name: str, spans: str, columns: str, join: str = "") -> str:
    """One row per committed run a span covers: open spans (run_to NULL) and closed ones in two arms, so a query
    for one run reads each through its own index instead of the whole history."""
    committed = "r.status IN ('complete', 'partial')"
    return f"""CREATE VIEW {name} AS
SELECT r.run_id AS run_id, {columns}
FROM {spans} s JOIN runs r ON r.run_id >= s.run_from AND {committed}{join}
WHERE s.run_to IS NULL
UNION ALL
SELECT r.run_id, {columns}
FROM {spans} s JOIN runs r ON r.run_id >= s.run_from AND r.run_id < s.run_to AND {committed}{join}
WHERE s.run_to IS NOT NULL"""


MODEL_METRICS = _spans_view(
    "model_metrics",
    "metric_spans",
    "m.model_id AS model_id, s.downloads AS downloads, s.likes AS likes, s.trending_score AS trending_score, "
    "s.downloads_all_time AS downloads_all_time",
    "\nJOIN models m ON m.model_key = s.model_key",
)
MODEL_RANKINGS = _spans_view(
    "model_rankings",
    "ranking_spans",
    's.source AS source, s.sort AS sort, s."rank" AS "rank", s.model_id AS model_id',
)
