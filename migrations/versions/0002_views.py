"""views: catalog, catalog_changes, health_latest (their SQL frozen as it was at this revision)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CREATE = {
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
LEFT JOIN model_metrics mm ON mm.model_id = m.model_id AND mm.run_id = m.last_seen_run
WHERE m.listed = 1""",
        """CREATE VIEW catalog_changes AS
SELECT c.run_from AS run_id, c.valid_from AS changed_at, c.model_id AS model_id, CAST(NULL AS TEXT) AS
  provider,
  CASE WHEN EXISTS (SELECT 1 FROM catalog_membership e WHERE e.model_id = c.model_id AND e.run_from <
  c.run_from)
       THEN 'restored' ELSE 'added' END AS change, CAST(NULL AS TEXT) AS before, CAST(NULL AS TEXT) AS after
FROM catalog_membership c
UNION ALL
SELECT c.run_to, c.valid_to, c.model_id, NULL, 'removed', NULL, NULL FROM catalog_membership c WHERE
  c.valid_to IS NOT NULL
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
  CASE WHEN p.status <> n.status THEN p.status ELSE COALESCE(CAST(p.provider_model_id AS TEXT), '-') || ' ' ||
  COALESCE(CAST(p.task AS TEXT), '-') END,
  CASE WHEN p.status <> n.status THEN n.status ELSE COALESCE(CAST(n.provider_model_id AS TEXT), '-') || ' ' ||
  COALESCE(CAST(n.task AS TEXT), '-') END
FROM model_providers n JOIN model_providers p ON p.model_id = n.model_id AND p.provider = n.provider AND
  p.run_to = n.run_from
UNION ALL
SELECT n.run_from, n.valid_from, n.model_id, n.provider, 'price',
  (SELECT 'in=' || COALESCE(CAST(p.price_input AS TEXT), '-') || ' out=' || COALESCE(CAST(p.price_output AS
  TEXT), '-') || ' ctx=' || COALESCE(CAST(p.context_length AS TEXT), '-') || ' status=' ||
  COALESCE(CAST(p.status AS TEXT), '-') FROM provider_offers p WHERE p.model_id = n.model_id AND p.provider =
  n.provider AND p.run_to = n.run_from),
  'in=' || COALESCE(CAST(n.price_input AS TEXT), '-') || ' out=' || COALESCE(CAST(n.price_output AS TEXT),
  '-') || ' ctx=' || COALESCE(CAST(n.context_length AS TEXT), '-') || ' status=' || COALESCE(CAST(n.status AS
  TEXT), '-')
FROM provider_offers n
UNION ALL
SELECT p.run_to, p.valid_to, p.model_id, p.provider, 'price', 'in=' || COALESCE(CAST(p.price_input AS TEXT),
  '-') || ' out=' || COALESCE(CAST(p.price_output AS TEXT), '-') || ' ctx=' || COALESCE(CAST(p.context_length
  AS TEXT), '-') || ' status=' || COALESCE(CAST(p.status AS TEXT), '-'), NULL
FROM provider_offers p WHERE p.valid_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM provider_offers n
  WHERE n.model_id = p.model_id AND n.provider = p.provider AND n.run_from = p.run_to)""",
        """CREATE VIEW health_latest AS
SELECT h.model_id AS model_id, h.provider AS provider, h.checked_at AS checked_at, h.outcome AS outcome,
  h.latency_ms AS latency_ms, h.http_status AS http_status, h.error AS error,
  (SELECT CAST(SUM(CASE WHEN x.outcome = 'ok' THEN 1 ELSE 0 END) AS FLOAT)
          / NULLIF(SUM(CASE WHEN x.outcome <> 'unsupported' THEN 1 ELSE 0 END), 0)
   FROM health_checks x WHERE x.model_id = h.model_id AND x.provider = h.provider
   AND x.checked_epoch > h.checked_epoch - 86400) AS ok_ratio_24h
FROM health_checks h
WHERE h.check_id = (SELECT MAX(y.check_id) FROM health_checks y WHERE y.model_id = h.model_id AND y.provider =
  h.provider)""",
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
LEFT JOIN model_metrics mm ON mm.model_id = m.model_id AND mm.run_id = m.last_seen_run
WHERE m.listed = 1""",
        """CREATE VIEW catalog_changes AS
SELECT c.run_from AS run_id, c.valid_from AS changed_at, c.model_id AS model_id, CAST(NULL AS TEXT) AS
  provider,
  CASE WHEN EXISTS (SELECT 1 FROM catalog_membership e WHERE e.model_id = c.model_id AND e.run_from <
  c.run_from)
       THEN 'restored' ELSE 'added' END AS change, CAST(NULL AS TEXT) AS before, CAST(NULL AS TEXT) AS after
FROM catalog_membership c
UNION ALL
SELECT c.run_to, c.valid_to, c.model_id, NULL, 'removed', NULL, NULL FROM catalog_membership c WHERE
  c.valid_to IS NOT NULL
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
  CASE WHEN p.status <> n.status THEN p.status ELSE COALESCE(CAST(p.provider_model_id AS TEXT), '-') || ' ' ||
  COALESCE(CAST(p.task AS TEXT), '-') END,
  CASE WHEN p.status <> n.status THEN n.status ELSE COALESCE(CAST(n.provider_model_id AS TEXT), '-') || ' ' ||
  COALESCE(CAST(n.task AS TEXT), '-') END
FROM model_providers n JOIN model_providers p ON p.model_id = n.model_id AND p.provider = n.provider AND
  p.run_to = n.run_from
UNION ALL
SELECT n.run_from, n.valid_from, n.model_id, n.provider, 'price',
  (SELECT 'in=' || COALESCE(CAST(CASE WHEN p.price_input = trunc(p.price_input) AND abs(p.price_input) < 1e15
  THEN CAST(CAST(p.price_input AS BIGINT) AS TEXT) || '.0' ELSE CAST(p.price_input AS TEXT) END AS TEXT), '-')
  || ' out=' || COALESCE(CAST(CASE WHEN p.price_output = trunc(p.price_output) AND abs(p.price_output) < 1e15
  THEN CAST(CAST(p.price_output AS BIGINT) AS TEXT) || '.0' ELSE CAST(p.price_output AS TEXT) END AS TEXT),
  '-') || ' ctx=' || COALESCE(CAST(p.context_length AS TEXT), '-') || ' status=' || COALESCE(CAST(p.status AS
  TEXT), '-') FROM provider_offers p WHERE p.model_id = n.model_id AND p.provider = n.provider AND p.run_to =
  n.run_from),
  'in=' || COALESCE(CAST(CASE WHEN n.price_input = trunc(n.price_input) AND abs(n.price_input) < 1e15 THEN
  CAST(CAST(n.price_input AS BIGINT) AS TEXT) || '.0' ELSE CAST(n.price_input AS TEXT) END AS TEXT), '-') ||
  ' out=' || COALESCE(CAST(CASE WHEN n.price_output = trunc(n.price_output) AND abs(n.price_output) < 1e15
  THEN CAST(CAST(n.price_output AS BIGINT) AS TEXT) || '.0' ELSE CAST(n.price_output AS TEXT) END AS TEXT),
  '-') || ' ctx=' || COALESCE(CAST(n.context_length AS TEXT), '-') || ' status=' || COALESCE(CAST(n.status AS
  TEXT), '-')
FROM provider_offers n
UNION ALL
SELECT p.run_to, p.valid_to, p.model_id, p.provider, 'price', 'in=' || COALESCE(CAST(CASE WHEN p.price_input =
  trunc(p.price_input) AND abs(p.price_input) < 1e15 THEN CAST(CAST(p.price_input AS BIGINT) AS TEXT) || '.0'
  ELSE CAST(p.price_input AS TEXT) END AS TEXT), '-') || ' out=' || COALESCE(CAST(CASE WHEN p.price_output =
  trunc(p.price_output) AND abs(p.price_output) < 1e15 THEN CAST(CAST(p.price_output AS BIGINT) AS TEXT) ||
  '.0' ELSE CAST(p.price_output AS TEXT) END AS TEXT), '-') || ' ctx=' || COALESCE(CAST(p.context_length AS
  TEXT), '-') || ' status=' || COALESCE(CAST(p.status AS TEXT), '-'), NULL
FROM provider_offers p WHERE p.valid_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM provider_offers n
  WHERE n.model_id = p.model_id AND n.provider = p.provider AND n.run_from = p.run_to)""",
        """CREATE VIEW health_latest AS
SELECT h.model_id AS model_id, h.provider AS provider, h.checked_at AS checked_at, h.outcome AS outcome,
  h.latency_ms AS latency_ms, h.http_status AS http_status, h.error AS error,
  (SELECT CAST(SUM(CASE WHEN x.outcome = 'ok' THEN 1 ELSE 0 END) AS FLOAT)
          / NULLIF(SUM(CASE WHEN x.outcome <> 'unsupported' THEN 1 ELSE 0 END), 0)
   FROM health_checks x WHERE x.model_id = h.model_id AND x.provider = h.provider
   AND x.checked_epoch > h.checked_epoch - 86400) AS ok_ratio_24h
FROM health_checks h
WHERE h.check_id = (SELECT MAX(y.check_id) FROM health_checks y WHERE y.model_id = h.model_id AND y.provider =
  h.provider)""",
    ),
}


def upgrade() -> None:
    for statement in CREATE[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade() -> None:
    for name in ("health_latest", "catalog_changes", "catalog"):
        op.execute(f"DROP VIEW IF EXISTS {name}")
