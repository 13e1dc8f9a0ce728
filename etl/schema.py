"""SQLAlchemy Core tables and views: the database contract of SPEC section 5 (Alembic reads it)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

# Timestamps are ISO-8601 UTC text (sortable, identical on SQLite and PostgreSQL); booleans are 0/1.
TS = sa.String(32)
BOOL = sa.SmallInteger
JSON_TEXT = sa.Text


def _scd2(*extra: sa.Column[Any]) -> list[sa.Column[Any]]:
    """The four SCD2 columns every versioned table carries."""
    return [
        *extra,
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_to", TS),
        sa.Column("run_from", sa.Integer, nullable=False),
        sa.Column("run_to", sa.Integer),
    ]


runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("trigger", sa.String(32), nullable=False),
    sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
    sa.Column("models_seen", sa.Integer, nullable=False, server_default="0"),
    sa.Column("models_added", sa.Integer, nullable=False, server_default="0"),
    sa.Column("models_changed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("models_removed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("models_restored", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rejects", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("hostname", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("version", sa.String(32)),
)

run_sources = sa.Table(
    "run_sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("partition", sa.Text, nullable=False),  # canonical JSON of the listing's filters
    sa.Column("sort", sa.String(32), nullable=False),
    sa.Column("pages", sa.Integer, nullable=False, server_default="0"),
    sa.Column("items", sa.Integer, nullable=False, server_default="0"),  # distinct ids the listing returned
    sa.Column("complete", BOOL, nullable=False, server_default="0"),  # ended by itself without errors
    sa.Column("capped", BOOL, nullable=False, server_default="0"),
    sa.Column("estimated_total", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("kind", sa.String(16), nullable=False, server_default="listing"),  # listing | partition | router
    sa.Column("parent", sa.Text),  # the partition this one was split from
    sa.Column("reached", sa.Integer),  # for a capped partition: distinct models reached through all its listings
    sa.Column(
        "proven", BOOL, nullable=False, server_default="0"
    ),  # complete, or exhaustively split into complete parts
    sa.Column("shrunk", BOOL, nullable=False, server_default="0"),
    sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
)
sa.Index("ix_run_sources_run", run_sources.c.run_id)
sa.Index("ix_run_sources_key", run_sources.c.source, run_sources.c.partition, run_sources.c.sort)

models = sa.Table(
    "models",
    metadata,
    sa.Column("model_id", sa.String(255), primary_key=True),
    sa.Column("author", sa.String(255)),
    sa.Column("pipeline_tag", sa.String(64)),
    sa.Column("library_name", sa.String(64)),
    sa.Column("gated", sa.String(8), nullable=False, server_default="false"),
    sa.Column("private", BOOL, nullable=False, server_default="0"),
    sa.Column("created_at", TS),
    sa.Column("last_modified", TS),
    sa.Column("num_parameters", sa.BigInteger),
    sa.Column("license", sa.String(128)),
    sa.Column("tags", JSON_TEXT, nullable=False, server_default="[]"),
    sa.Column("listed", BOOL, nullable=False, server_default="0"),
    sa.Column("first_seen_run", sa.Integer, nullable=False),
    sa.Column("last_seen_run", sa.Integer, nullable=False),
    sa.Column("last_listed_run", sa.Integer),  # last run a catalog source returned it
    sa.Column("misses", sa.Integer, nullable=False, server_default="0"),  # consecutive proven misses
    sa.Column("row_hash", sa.String(40)),  # hash of the current version's record
    sa.Column("raw_hash", sa.String(40)),  # fingerprint of the raw item last transformed (skips unchanged items)
    # Integer surrogate key of metric_spans; model_id stays the public key.
    sa.Column("model_key", sa.Integer),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("version_id", sa.Integer, primary_key=True, autoincrement=True),
    *_scd2(
        sa.Column("model_id", sa.String(255), nullable=False),
        sa.Column("row_hash", sa.String(40), nullable=False),
        sa.Column("record", JSON_TEXT, nullable=False),
    ),
)

catalog_membership = sa.Table(  # SCD2 of "listed": the source of added / removed / restored
    "catalog_membership",
    metadata,
    sa.Column("membership_id", sa.Integer, primary_key=True, autoincrement=True),
    *_scd2(sa.Column("model_id", sa.String(255), nullable=False)),
    # models.model_key, copied when the row opens (migration 0012): an as-of read finds counters without `models`.
    sa.Column("model_key", sa.Integer),
)

model_providers = sa.Table(
    "model_providers",
    metadata,
    sa.Column("mapping_id", sa.Integer, primary_key=True, autoincrement=True),
    *_scd2(
        sa.Column("model_id", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("provider_model_id", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("task", sa.String(64)),
        sa.Column("adapter", sa.String(64)),
        sa.Column("misses", sa.Integer, nullable=False, server_default="0"),
        sa.Column("in_item", BOOL, nullable=False, server_default="1"),  # in the model's last transformed mapping list
    ),
)

provider_offers = sa.Table(
    "provider_offers",
    metadata,
    sa.Column("offer_id", sa.Integer, primary_key=True, autoincrement=True),
    *_scd2(
        sa.Column("model_id", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16)),
        sa.Column("context_length", sa.Integer),
        sa.Column("price_input", sa.Float),
        sa.Column("price_output", sa.Float),
        sa.Column("supports_tools", BOOL),
        sa.Column("supports_structured_output", BOOL),
        sa.Column("is_model_author", BOOL),
        sa.Column("misses", sa.Integer, nullable=False, server_default="0"),
        # 1 while the Hub maps no such provider for the model: kept, but no source of the catalog's price/context
        sa.Column("unmapped", BOOL, nullable=False, server_default="0"),
    ),
)

gating_history = sa.Table(
    "gating_history",
    metadata,
    sa.Column("gating_id", sa.Integer, primary_key=True, autoincrement=True),
    *_scd2(
        sa.Column("model_id", sa.String(255), nullable=False),
        sa.Column("gated", sa.String(8), nullable=False),
    ),
)

# The catalog as spans of time in which a member's version and its membership are both unchanged: one row per
# overlap of a catalog_membership row and a model_versions row of the same model, kept by the loader in the merge
# (migration 0013 fills it from the history). A read "as of" a time walks this one table in model_id order and looks
# up only each member's counters (`queries.AsOf`). Keyed by the run that opened it: a model opens at most one a run.
catalog_spans = sa.Table(
    "catalog_spans",
    metadata,
    sa.Column("model_id", sa.String(255), primary_key=True),
    sa.Column("run_from", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("run_to", sa.Integer),
    sa.Column("valid_from", TS, nullable=False),
    sa.Column("valid_to", TS),
    sa.Column("version_id", sa.Integer, nullable=False),
    sa.Column("model_key", sa.Integer),
    sqlite_with_rowid=False,
)

# Facts as spans over runs: a row holds values for the runs run_from <= run < run_to (run_to NULL: still current),
# counting only runs that committed (complete or partial). A row is written only when a value changes or the model
# (or rank) was absent from a run, so unchanged counters cost nothing; the views model_metrics and model_rankings
# give the contract's one row per run.
metric_spans = sa.Table(
    "metric_spans",
    metadata,
    sa.Column("model_key", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("run_from", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("run_to", sa.Integer),
    sa.Column("downloads", sa.BigInteger),
    sa.Column("likes", sa.Integer),
    sa.Column("trending_score", sa.Float),
    sa.Column("downloads_all_time", sa.BigInteger),
    sqlite_with_rowid=False,
)

ranking_spans = sa.Table(
    "ranking_spans",
    metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("sort", sa.String(32), primary_key=True),
    sa.Column("rank", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("run_from", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("run_to", sa.Integer),
    sa.Column("model_id", sa.String(255), nullable=False),  # text: a ranked model may be one that was rejected
    sqlite_with_rowid=False,
)

providers = sa.Table(
    "providers",
    metadata,
    sa.Column("provider", sa.String(64), primary_key=True),
    sa.Column("first_seen_run", sa.Integer, nullable=False),
    sa.Column("last_seen_run", sa.Integer, nullable=False),
    sa.Column("known_to_client", BOOL, nullable=False, server_default="0"),
    sa.Column("misses", sa.Integer, nullable=False, server_default="0"),  # consecutive runs proving it gone
    sa.Column("retired_run", sa.Integer),  # the run that retired it (no longer listed); NULL while it exists
)

health_checks = sa.Table(
    "health_checks",
    metadata,
    sa.Column("check_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.String(255), nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("checked_at", TS, nullable=False),
    sa.Column("checked_epoch", sa.Float, nullable=False),  # for window arithmetic that is portable SQL
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("http_status", sa.Integer),
    sa.Column("latency_ms", sa.Float),
    sa.Column("error", sa.Text),
)

rejects = sa.Table(
    "rejects",
    metadata,
    sa.Column("reject_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("source", sa.String(128)),
    sa.Column("model_id", sa.String(255)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text),
)

_cols: tuple[str, ...]  # the key columns of each table in the loops below

# One current row per key, enforced by the database itself.
for _table, _cols in (
    (model_versions, ("model_id",)),
    (catalog_membership, ("model_id",)),
    (model_providers, ("model_id", "provider")),
    (provider_offers, ("model_id", "provider")),
    (gating_history, ("model_id",)),
):
    _current = _table.c.valid_to.is_(None)
    sa.Index(
        f"ux_{_table.name}_current",
        *(_table.c[c] for c in _cols),
        unique=True,
        sqlite_where=_current,
        postgresql_where=_current,
    )
    sa.Index(f"ix_{_table.name}_key_run_to", *(_table.c[c] for c in _cols), _table.c.run_to)
    sa.Index(f"ix_{_table.name}_run_from", _table.c.run_from)

sa.Index("ux_models_key", models.c.model_key, unique=True)
# Reads "as of" a time (migration 0011; 0012 adds model_key to the membership's): the validity range and the key
# from the index, never the row (a version's row carries its 1.2 KB record), nor the models row.
sa.Index(
    "ix_catalog_membership_as_of",
    catalog_membership.c.model_id,
    catalog_membership.c.valid_from,
    catalog_membership.c.valid_to,
    catalog_membership.c.model_key,
)
sa.Index(
    "ix_model_versions_as_of",
    model_versions.c.model_id,
    model_versions.c.valid_from,
    model_versions.c.valid_to,
    model_versions.c.version_id,
)
sa.Index(
    "ix_model_providers_as_of",
    *(model_providers.c[c] for c in ("model_id", "valid_from", "valid_to", "status", "provider")),
)
sa.Index("ix_models_id_key", models.c.model_id, models.c.model_key)
# Open spans (one per model or rank seen in the last run) and closed ones by where they end: a run's rows are found
# through these two without reading the whole history.
for _table, _cols in ((metric_spans, ("model_key",)), (ranking_spans, ("source", "sort", "rank"))):
    _open = _table.c.run_to.is_(None)
    sa.Index(
        f"ux_{_table.name}_open",
        *(_table.c[c] for c in _cols),
        unique=True,
        sqlite_where=_open,
        postgresql_where=_open,
    )
    _closed = _table.c.run_to.is_not(None)
    sa.Index(f"ix_{_table.name}_run_to", _table.c.run_to, sqlite_where=_closed, postgresql_where=_closed)
sa.Index("ix_health_checks_pair", health_checks.c.model_id, health_checks.c.provider, health_checks.c.checked_at)
sa.Index("ix_rejects_run", rejects.c.run_id)
# Rows with a pending miss, few or none in a steady catalog: miss resets and retirements touch only these.
for _table in (model_providers, provider_offers):
    _missed = sa.and_(_table.c.valid_to.is_(None), _table.c.misses > 0)
    sa.Index(f"ix_{_table.name}_missed", _table.c.model_id, sqlite_where=_missed, postgresql_where=_missed)
_missed = sa.and_(models.c.listed == 1, models.c.misses > 0)
sa.Index("ix_models_missed", models.c.model_id, sqlite_where=_missed, postgresql_where=_missed)

# The contract views, then the views for reading (migration 0005) built on them.
VIEW_NAMES = (
    "catalog",
    "catalog_changes",
    "health_latest",
    "model_metrics",
    "model_rankings",
    "last_run_changes",
    "provider_live_models",
    "models_lost_last_provider",
)
