"""A run's temporary staging tables, their columns taken from schema.py (one definition of every type)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from . import schema
from .scd2 import OFFERS

metadata = sa.MetaData()


def _stage(name: str, *columns: tuple[sa.Table, str] | sa.Column[object], key: tuple[str, ...] = ()) -> sa.Table:
    """A temporary table whose columns copy the named schema columns (all nullable but its `key`).

    Without a `key` it is a heap that gets its unique index once it is full (see KEYS). With one it is clustered by
    that key (on SQLite WITHOUT ROWID: the rows live in the key's B-tree), filled from its heap (HEAPS) in key order
    once the listings are done: a lookup by key is then one B-tree descent, not an index search and then the row's,
    and a walk in key order reads its pages in order.
    """
    cols = [c if isinstance(c, sa.Column) else sa.Column(c[1], c[0].c[c[1]].type) for c in columns]
    for col in cols:
        if col.name in key:
            col.primary_key, col.nullable, col.autoincrement = True, False, False
    return sa.Table(name, metadata, *cols, prefixes=["TEMPORARY"], sqlite_with_rowid=not key)


def _of(table: sa.Table, *names: str) -> list[tuple[sa.Table, str]]:
    return [(table, n) for n in names]


_METRICS = ("downloads", "likes", "trending_score", "downloads_all_time")
_MODEL = (
    "model_id",
    "author",
    "pipeline_tag",
    "library_name",
    "gated",
    "private",
    "created_at",
    "last_modified",
    "num_parameters",
    "license",
    "tags",
    "row_hash",
)

# Every model observed this run, light: where it was seen and its counters (model_key is filled at the merge).
seen = _stage(
    "stage_seen",
    (schema.models, "model_id"),
    sa.Column("in_catalog", schema.BOOL),
    *_of(schema.metric_spans, *_METRICS),
    (schema.models, "model_key"),
    key=("model_id",),
)
# Only models whose fingerprint moved (or that are new): the full normalized row.
models = _stage(
    "stage_models", *_of(schema.models, *_MODEL), (schema.model_versions, "record"), (schema.models, "raw_hash")
)
mappings = _stage(
    "stage_mappings",
    *_of(schema.model_providers, "model_id", "provider", "provider_model_id", "status", "task", "adapter"),
)
offers = _stage("stage_offers", *_of(schema.provider_offers, "model_id", "provider", *OFFERS.tracked))
proven = _stage("stage_proven", (schema.providers, "provider"))
providers = _stage("stage_providers", (schema.providers, "provider"), sa.Column("known", schema.BOOL))
rankings = _stage("stage_rankings", *_of(schema.ranking_spans, "source", "sort", "rank", "model_id"))
rejects = _stage("stage_rejects", *_of(schema.rejects, "source", "model_id", "reason", "payload"))

TABLES = (seen, models, mappings, offers, proven, providers, rankings, rejects)


def _heap(table: sa.Table) -> sa.Table:
    """The keyless twin a clustered staging table is filled through while the listings run."""
    cols = [sa.Column(c.name, c.type) for c in table.columns]
    return sa.Table(f"{table.name}_fill", metadata, *cols, prefixes=["TEMPORARY"])


# The narrow table the merge probes most (once per model, in several statements): appended to as a heap while the
# listings run, then copied once, sorted, into its clustered table (see cluster). Keyed from the start instead, a
# B-tree filled in random order through SQLite's small temporary cache rewrote a page per row (with stage_mappings
# keyed too: 1 GB more written at 100k models). A model staged twice fails the run instead of doubling it.
HEAPS: dict[sa.Table, sa.Table] = {seen: _heap(seen)}
# Unique indexes of the other tables, built once they are full (sorted, faster than a B-tree filled in random
# order); the offers' as soon as the router's list is read.
KEYS: dict[sa.Table, tuple[str, ...]] = {
    models: ("model_id",),
    mappings: ("model_id", "provider"),
    offers: ("model_id", "provider"),
    proven: ("provider",),
    providers: ("provider",),
    rankings: ("source", "sort", "rank"),
}


def filled(table: sa.Table) -> sa.Table:
    """The table the staging phase appends `table`'s rows to: its heap if it is clustered, else itself."""
    return HEAPS.get(table, table)


def create(conn: Connection) -> None:
    for table in (*TABLES, *HEAPS.values()):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table.name}")
        table.create(conn)


def cluster(conn: Connection) -> None:
    """Every heap's rows into its clustered table, in key order (appended at the B-tree's end); the heap goes."""
    for table, heap in HEAPS.items():
        key = [c.name for c in table.primary_key.columns]
        rows = sa.select(*heap.columns).order_by(*(heap.c[k] for k in key))
        conn.execute(sa.insert(table).from_select([c.name for c in heap.columns], rows))
        conn.exec_driver_sql(f"DROP TABLE {heap.name}")


def index(conn: Connection, *tables: sa.Table) -> None:
    for table in tables:  # plain DDL: an sa.Index would attach to the shared Table and be created with it next run
        conn.exec_driver_sql(f"CREATE UNIQUE INDEX {table.name}_key ON {table.name} ({', '.join(KEYS[table])})")
