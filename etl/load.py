"""One transaction per run: stage rows in temp tables, then SCD2 merges, retirement rules and facts, set-wise in SQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, text

from .checks import printable, storable_id
from .config import HistoryConfig
from .db import copy_rows, prepare_merge
from .keyset import KeySet
from .transform import ModelRow, Offer, Seen, fingerprint_key
from .writer import Writer

MAX_REJECTS = 10_000  # per run; beyond that they are only counted
# Staging tables have no keys while they fill: appending to a heap is sequential where a B-tree keyed by model id
# takes random inserts (twice the time); their unique indexes are built once, sorted, before they are read.
_STAGE_DDL = (
    # Every model observed this run, light: where it was seen (its counters go straight to model_metrics).
    """CREATE TEMPORARY TABLE stage_seen (model_id VARCHAR(255) NOT NULL, in_catalog SMALLINT)""",
    # Only models whose fingerprint moved (or that are new): the full normalized row.
    """CREATE TEMPORARY TABLE stage_models (
        model_id VARCHAR(255) NOT NULL, author VARCHAR(255), pipeline_tag VARCHAR(64), library_name VARCHAR(64),
        gated VARCHAR(8), private SMALLINT, created_at VARCHAR(32), last_modified VARCHAR(32), num_parameters BIGINT,
        license VARCHAR(128), tags TEXT, row_hash VARCHAR(40), record TEXT, raw_hash VARCHAR(40))""",
    """CREATE TEMPORARY TABLE stage_mappings (
        model_id VARCHAR(255), provider VARCHAR(64), provider_model_id VARCHAR(255), status VARCHAR(16),
        task VARCHAR(64), adapter VARCHAR(64))""",
    """CREATE TEMPORARY TABLE stage_offers (
        model_id VARCHAR(255), provider VARCHAR(64), status VARCHAR(16), context_length INTEGER, price_input FLOAT,
        price_output FLOAT, supports_tools SMALLINT, supports_structured_output SMALLINT, is_model_author SMALLINT)""",
    "CREATE TEMPORARY TABLE stage_proven (provider VARCHAR(64) PRIMARY KEY)",
    "CREATE TEMPORARY TABLE stage_providers (provider VARCHAR(64) PRIMARY KEY, known SMALLINT)",
)
_STAGE_KEYS = {  # built by _index_staging(); unique, so a model staged twice fails the run instead of doubling it
    "stage_offers": "model_id, provider",
    "stage_seen": "model_id",
    "stage_models": "model_id",
    "stage_mappings": "model_id, provider",
}
_STAGE_TABLES = ("stage_seen", "stage_models", "stage_mappings", "stage_offers", "stage_proven", "stage_providers")


@dataclass
class MergeInput:
    """What extraction concluded, as the merge needs it."""

    catalog_proven: bool  # every catalog partition proven complete and not shrunk: absences count as misses
    proven_providers: set[str]  # providers whose own partition was proven: their mappings' absences count
    router_complete: bool  # the router's list was read whole: absent offers count as misses
    providers: dict[str, bool] = field(default_factory=dict)  # provider id -> known to huggingface_hub
    rankings: list[tuple[str, str, int, str]] = field(default_factory=list)  # (source, sort, rank, model_id)
    run_sources: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MergeCounts:
    """What the run changed; goes into its `runs` row."""

    models_seen: int = 0
    models_added: int = 0
    models_changed: int = 0
    models_removed: int = 0
    models_restored: int = 0
    rows_written: dict[str, int] = field(default_factory=dict)


class Loader:
    """Stages one run's rows and merges them into the history tables, inside the caller's transaction.

    With a `writer`, every statement runs on the writer's thread: callers build the rows (Python work) and hand
    them over, and the database works on one batch while they build the next. Without one, statements run inline.
    """

    def __init__(
        self, conn: Connection, run_id: int, now: str, history: HistoryConfig, writer: Writer | None = None
    ) -> None:
        self.conn = conn
        self.writer = writer
        self.offers_merged = False
        self.run_id = run_id
        self.now = now
        self.history = history
        self.rejects = 0
        self.anonymous_rejects = 0  # catalog items without an id: they could be any model, so nothing is proven absent
        self._mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self._offers: list[tuple[Any, ...]] = []
        self._promoted: list[tuple[str]] = []

    # ---- staging --------------------------------------------------------------------------------

    def _do(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """fn(*args) on the writer thread (queued, in order), or now when there is no writer."""
        if self.writer is not None:
            return self.writer.submit(fn, *args)
        done: Future[Any] = Future()
        done.set_result(fn(*args))
        return done

    def _insert_all(self, tables: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        for table, rows in tables:
            self._insert(table, rows)

    def _insert(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows into a table (positional): COPY on PostgreSQL, one JSON array unpacked by SQLite itself elsewhere.

        Binding thousands of parameters converts each value under the GIL; one JSON text (orjson: a few ms per
        batch) is unpacked by json_each inside the statement, where sqlite3 has released the GIL, so this work
        overlaps the transform on the other core. The statement text is fixed per width, so the driver's statement
        cache holds one per table.
        """
        if not rows:
            return
        if self.conn.dialect.name == "postgresql":  # COPY: psycopg would re-parse each long VALUES list in Python
            return copy_rows(self.conn, table, rows)
        columns = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(rows[0])))
        self.conn.exec_driver_sql(
            f"INSERT INTO {table} SELECT {columns} FROM json_each(?)", (orjson.dumps(rows).decode(),)
        )

    def create_staging(self) -> None:
        self._do(self._create_staging).result()

    def _create_staging(self) -> None:
        for table in _STAGE_TABLES:
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        for ddl in _STAGE_DDL:
            self.conn.exec_driver_sql(ddl)

    def _known_fingerprints(self) -> KeySet:
        rows = self.conn.exec_driver_sql(
            "SELECT raw_hash FROM models WHERE raw_hash IS NOT NULL ORDER BY raw_hash",
            execution_options={"yield_per": 10_000},
        )
        return KeySet(fingerprint_key(raw_hash) for (raw_hash,) in rows)

    def known_fingerprints(self) -> KeySet:
        """64-bit prefixes of every stored fingerprint (models with a current version), compactly."""
        return self._do(self._known_fingerprints).result()

    def stage(self, seen: Sequence[Seen], rows: Sequence[ModelRow], in_catalog: bool) -> None:
        """Observed models (all of them, light) and the full rows of those that had to be transformed."""
        if not seen:
            return
        flag = int(in_catalog)
        # Each model is staged once a run (the caller dedupes), so its metrics row can be written now.
        tables = [
            ("stage_seen", [(s.model_id, flag) for s in seen]),
            (
                "model_metrics",
                [(self.run_id, s.model_id, s.downloads, s.likes, s.trending_score, s.downloads_all_time) for s in seen],
            ),
        ]
        if rows:
            hashes = {s.model_id: s.raw_hash for s in seen}
            tables.append(
                (
                    "stage_models",
                    [
                        (
                            r.model_id,
                            r.author,
                            r.pipeline_tag,
                            r.library_name,
                            r.gated,
                            r.private,
                            r.created_at,
                            r.last_modified,
                            r.num_parameters,
                            r.license,
                            r.tags,
                            r.row_hash,
                            r.record,
                            hashes[r.model_id],
                        )
                        for r in rows
                    ],
                )
            )
            tables.append(
                (
                    "stage_mappings",
                    [
                        (r.model_id, m.provider, m.provider_model_id, m.status, m.task, m.adapter)
                        for r in rows
                        for m in r.mappings
                    ],
                )
            )
        self._do(self._insert_all, tables)

    def mark_catalog(self, model_ids: Iterable[str]) -> None:
        """Models first seen by a `top` source and then by a catalog source."""
        self._promoted.extend((m,) for m in model_ids)  # applied by the merge, once stage_seen has its index

    def stage_offers(self, model_id: str, offers: Sequence[Offer]) -> None:
        """One router entry's offers (buffered; flushed with flush_offers)."""
        self._offers.extend(
            (
                model_id,
                o.provider,
                o.status,
                o.context_length,
                o.price_input,
                o.price_output,
                o.supports_tools,
                o.supports_structured_output,
                o.is_model_author,
            )
            for o in offers
        )
        if len(self._offers) >= 5000:
            self.flush_offers()

    def flush_offers(self) -> None:
        rows, self._offers = self._offers, []
        self._do(self._insert, "stage_offers", rows)

    def offers_for(self, model_ids: Sequence[str]) -> Future[dict[str, tuple[Offer, ...]]]:
        """Staged router offers of these models, sorted by provider (what the transformer needs), when ready."""
        return self._do(self._offers_for, list(model_ids))

    def _offers_for(self, model_ids: Sequence[str]) -> dict[str, tuple[Offer, ...]]:
        out: dict[str, list[Offer]] = {}
        for i in range(0, len(model_ids), 500):
            chunk = model_ids[i : i + 500]
            rows = self.conn.exec_driver_sql(
                f"""SELECT model_id, provider, status, context_length, price_input, price_output, supports_tools,
                    supports_structured_output, is_model_author FROM stage_offers
                    WHERE model_id IN ({", ".join([self._mark] * len(chunk))}) ORDER BY model_id, provider""",
                tuple(chunk),
            )
            for model_id, *fields in rows:
                out.setdefault(model_id, []).append(Offer(*fields))
        return {k: tuple(v) for k, v in out.items()}

    def add_reject(self, source: str | None, item: Any, reason: str, in_catalog: bool = True) -> None:
        self.rejects += 1
        raw_id = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
        self.anonymous_rejects += int(raw_id is None and in_catalog)
        model_id = storable_id(raw_id)  # an id no backend can store is no stored model: kept in the payload only
        if self.rejects > MAX_REJECTS:
            return
        try:
            payload = orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS).decode()[:20_000]
        except TypeError:
            payload = repr(item)[:20_000]
        self._do(
            self.conn.execute,
            text("INSERT INTO rejects (run_id, source, model_id, reason, payload) VALUES (:r, :s, :m, :why, :p)"),
            {"r": self.run_id, "s": source, "m": model_id, "why": printable(reason)[:1000], "p": payload},
        )

    # ---- merging --------------------------------------------------------------------------------

    def _index_staging(self, *tables: str) -> None:
        for table in tables:
            self.conn.exec_driver_sql(f"CREATE UNIQUE INDEX {table}_key ON {table} ({_STAGE_KEYS[table]})")

    def merge_offers(self, router_complete: bool) -> None:
        """The router's offers need nothing from the listings: merged (queued) as soon as they are staged."""
        self.offers_merged = True
        self._do(self._merge_offers_now, router_complete)

    def _merge_offers_now(self, router_complete: bool) -> None:
        self._index_staging("stage_offers")
        prepare_merge(self.conn, ("stage_offers",))
        self._merge_offers(router_complete)

    def merge(self, inp: MergeInput) -> MergeCounts:
        """Every SCD2 table, the retirement rules and the per-run facts, in dependency order."""
        return self._do(self._merge, inp).result()

    def _merge(self, inp: MergeInput) -> MergeCounts:
        if not self.offers_merged:  # the router failed: its offers (none or some) are merged with the rest
            self._merge_offers_now(inp.router_complete)
        self._index_staging("stage_seen", "stage_models", "stage_mappings")
        if self._promoted:
            self.conn.exec_driver_sql(
                f"UPDATE stage_seen SET in_catalog = 1 WHERE model_id = {self._mark}", self._promoted
            )
        self._stage_small(inp)
        prepare_merge(self.conn, _STAGE_TABLES)
        counts = MergeCounts()
        counts.models_seen = self._scalar("SELECT COUNT(*) FROM stage_seen")
        self._merge_models(inp, counts)
        self._merge_versions(counts)
        self._merge_gating()
        self._merge_mappings(inp)
        self._merge_membership(inp, counts)
        self._write_facts(inp)
        counts.rows_written = self._rows_written()
        return counts

    def _x(self, sql: str, **params: Any) -> int:
        result = self.conn.execute(text(sql), {"now": self.now, "run": self.run_id, **params})
        return result.rowcount or 0

    def _scalar(self, sql: str, **params: Any) -> int:
        return int(self.conn.execute(text(sql), {"now": self.now, "run": self.run_id, **params}).scalar() or 0)

    def _stage_small(self, inp: MergeInput) -> None:
        self._insert("stage_proven", [(p,) for p in sorted(inp.proven_providers)])
        self._insert("stage_providers", [(p, int(k)) for p, k in sorted(inp.providers.items())])

    def _merge_models(self, inp: MergeInput, counts: MergeCounts) -> None:
        """One row per model ever seen: attributes as last transformed, last_seen_run for every observed one."""
        self._x(
            """INSERT INTO models (model_id, author, pipeline_tag, library_name, gated, private, created_at, last_modified,
                   num_parameters, license, tags, listed, first_seen_run, last_seen_run, last_listed_run, misses, row_hash, raw_hash)
               SELECT model_id, author, pipeline_tag, library_name, gated, private, created_at, last_modified,
                   num_parameters, license, tags, 0, :run, :run, NULL, 0, row_hash, raw_hash FROM stage_models WHERE true
               ON CONFLICT (model_id) DO UPDATE SET author = excluded.author, pipeline_tag = excluded.pipeline_tag,
                   library_name = excluded.library_name, gated = excluded.gated, private = excluded.private,
                   created_at = excluded.created_at, last_modified = excluded.last_modified,
                   num_parameters = excluded.num_parameters, license = excluded.license, tags = excluded.tags,
                   row_hash = excluded.row_hash, raw_hash = excluded.raw_hash"""
        )
        self._x(
            """UPDATE models SET last_seen_run = :run,
                   listed = CASE WHEN s.in_catalog = 1 THEN 1 ELSE models.listed END,
                   misses = CASE WHEN s.in_catalog = 1 THEN 0 ELSE models.misses END,
                   last_listed_run = CASE WHEN s.in_catalog = 1 THEN :run ELSE models.last_listed_run END
               FROM stage_seen s WHERE s.model_id = models.model_id"""
        )

    def _merge_versions(self, counts: MergeCounts) -> None:
        """Close versions whose canonical hash moved; open one for every model without a current version."""
        counts.models_changed = self._x(
            """UPDATE model_versions SET valid_to = :now, run_to = :run
               WHERE valid_to IS NULL AND EXISTS (SELECT 1 FROM stage_models s
                   WHERE s.model_id = model_versions.model_id AND s.row_hash <> model_versions.row_hash)"""
        )
        self._x(
            """INSERT INTO model_versions (model_id, row_hash, record, valid_from, valid_to, run_from, run_to)
               SELECT s.model_id, s.row_hash, s.record, :now, NULL, :run, NULL FROM stage_models s
               WHERE NOT EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = s.model_id AND v.valid_to IS NULL)"""
        )

    def _merge_gating(self) -> None:
        self._x(
            """UPDATE gating_history SET valid_to = :now, run_to = :run
               WHERE valid_to IS NULL AND EXISTS (SELECT 1 FROM stage_models s
                   WHERE s.model_id = gating_history.model_id AND s.gated <> gating_history.gated)"""
        )
        self._x(
            """INSERT INTO gating_history (model_id, gated, valid_from, valid_to, run_from, run_to)
               SELECT s.model_id, s.gated, :now, NULL, :run, NULL FROM stage_models s
               WHERE NOT EXISTS (SELECT 1 FROM gating_history g WHERE g.model_id = s.model_id AND g.valid_to IS NULL)"""
        )

    def _merge_membership(self, inp: MergeInput, counts: MergeCounts) -> None:
        """Catalog scope: open for models a catalog source returned; retire only after proven misses."""
        opened = self._x(
            """INSERT INTO catalog_membership (model_id, valid_from, valid_to, run_from, run_to)
               SELECT s.model_id, :now, NULL, :run, NULL FROM stage_seen s WHERE s.in_catalog = 1
               AND NOT EXISTS (SELECT 1 FROM catalog_membership c WHERE c.model_id = s.model_id AND c.valid_to IS NULL)"""
        )
        # Restored: opened now, with an earlier (closed) row. Only this run's rows are read, not every model seen.
        counts.models_restored = (
            self._scalar(
                """SELECT COUNT(*) FROM catalog_membership c WHERE c.run_from = :run AND c.valid_to IS NULL
               AND EXISTS (SELECT 1 FROM catalog_membership p WHERE p.model_id = c.model_id AND p.valid_to IS NOT NULL)"""
            )
            if opened
            else 0
        )
        counts.models_added = opened - counts.models_restored
        # Present: seen by a catalog listing, or by any source while still served (a current mapping).
        present = """EXISTS (SELECT 1 FROM stage_seen s WHERE s.model_id = models.model_id AND (s.in_catalog = 1
                     OR EXISTS (SELECT 1 FROM model_providers p WHERE p.model_id = s.model_id AND p.valid_to IS NULL)))"""
        self._x(f"UPDATE models SET misses = 0 WHERE listed = 1 AND misses > 0 AND {present}")
        if not inp.catalog_proven:
            return  # unobserved is not removed: no miss is counted in a run that could not prove absence
        self._x(
            f"""UPDATE models SET misses = misses + 1 WHERE listed = 1 AND NOT {present}
               AND model_id NOT IN (SELECT model_id FROM rejects WHERE run_id = :run AND model_id IS NOT NULL)"""
        )
        retire = "SELECT model_id FROM models WHERE listed = 1 AND misses > 0 AND misses >= :n"
        n = self.history.retire_after_misses
        counts.models_removed = self._x(
            f"UPDATE catalog_membership SET valid_to = :now, run_to = :run WHERE valid_to IS NULL AND model_id IN ({retire})",
            n=n,
        )
        # A model that is gone from the Hub (no source saw it) also ends its version and gating rows; its
        # fingerprint is forgotten so that a return opens a new version even if nothing else changed.
        gone = f"{retire} AND model_id NOT IN (SELECT model_id FROM stage_seen)"
        for table in ("model_versions", "gating_history"):
            self._x(
                f"UPDATE {table} SET valid_to = :now, run_to = :run WHERE valid_to IS NULL AND model_id IN ({gone})",
                n=n,
            )
        self._x(f"UPDATE models SET raw_hash = NULL WHERE model_id IN ({gone})", n=n)
        self._x("UPDATE models SET listed = 0 WHERE listed = 1 AND misses > 0 AND misses >= :n", n=n)

    def _merge_mappings(self, inp: MergeInput) -> None:
        """Per (model, provider): new rows on change; a miss when the model was seen without it, or its provider proven."""
        self._x(
            """UPDATE model_providers SET valid_to = :now, run_to = :run
               WHERE valid_to IS NULL AND EXISTS (SELECT 1 FROM stage_mappings s
                   WHERE s.model_id = model_providers.model_id AND s.provider = model_providers.provider
                   AND (s.status <> model_providers.status
                        OR COALESCE(s.provider_model_id, '') <> COALESCE(model_providers.provider_model_id, '')
                        OR COALESCE(s.task, '') <> COALESCE(model_providers.task, '')
                        OR COALESCE(s.adapter, '') <> COALESCE(model_providers.adapter, '')))"""
        )
        self._x(
            """INSERT INTO model_providers (model_id, provider, provider_model_id, status, task, adapter, misses,
                   valid_from, valid_to, run_from, run_to)
               SELECT s.model_id, s.provider, s.provider_model_id, s.status, s.task, s.adapter, 0, :now, NULL, :run, NULL
               FROM stage_mappings s WHERE NOT EXISTS (SELECT 1 FROM model_providers p
                   WHERE p.model_id = s.model_id AND p.provider = s.provider AND p.valid_to IS NULL)"""
        )
        # Which current mappings the model's newest item lists: an unchanged (same fingerprint) model keeps them.
        self._x(
            """UPDATE model_providers SET in_item = 1 - in_item
               WHERE valid_to IS NULL AND model_id IN (SELECT model_id FROM stage_models)
               AND in_item <> CASE WHEN EXISTS (SELECT 1 FROM stage_mappings s
                   WHERE s.model_id = model_providers.model_id AND s.provider = model_providers.provider) THEN 1 ELSE 0 END"""
        )
        self._x(
            """UPDATE model_providers SET misses = 0 WHERE valid_to IS NULL AND misses > 0 AND in_item = 1
               AND EXISTS (SELECT 1 FROM stage_seen s WHERE s.model_id = model_providers.model_id)"""
        )
        # A miss: seen without it, or unseen while its provider's partition was proven complete.
        self._x(
            """UPDATE model_providers SET misses = misses + 1
               WHERE valid_to IS NULL
               AND ((in_item = 0 AND model_id IN (SELECT model_id FROM stage_seen))
                    OR (model_id NOT IN (SELECT model_id FROM stage_seen) AND provider IN (SELECT provider FROM stage_proven)))
               AND model_id NOT IN (SELECT model_id FROM rejects WHERE run_id = :run AND model_id IS NOT NULL)"""
        )
        self._x(
            "UPDATE model_providers SET valid_to = :now, run_to = :run WHERE valid_to IS NULL AND misses > 0 AND misses >= :n",
            n=self.history.retire_after_misses,
        )

    def _merge_offers(self, router_complete: bool) -> None:
        """Router prices and capabilities per (model, provider)."""
        self._x(
            """UPDATE provider_offers SET valid_to = :now, run_to = :run
               WHERE valid_to IS NULL AND EXISTS (SELECT 1 FROM stage_offers s
                   WHERE s.model_id = provider_offers.model_id AND s.provider = provider_offers.provider
                   AND (COALESCE(s.status, '') <> COALESCE(provider_offers.status, '')
                        OR COALESCE(s.context_length, -1) <> COALESCE(provider_offers.context_length, -1)
                        OR COALESCE(s.price_input, -1) <> COALESCE(provider_offers.price_input, -1)
                        OR COALESCE(s.price_output, -1) <> COALESCE(provider_offers.price_output, -1)
                        OR COALESCE(s.supports_tools, -1) <> COALESCE(provider_offers.supports_tools, -1)
                        OR COALESCE(s.supports_structured_output, -1) <> COALESCE(provider_offers.supports_structured_output, -1)
                        OR COALESCE(s.is_model_author, -1) <> COALESCE(provider_offers.is_model_author, -1)))"""
        )
        self._x(
            """INSERT INTO provider_offers (model_id, provider, status, context_length, price_input, price_output,
                   supports_tools, supports_structured_output, is_model_author, misses, valid_from, valid_to, run_from, run_to)
               SELECT s.model_id, s.provider, s.status, s.context_length, s.price_input, s.price_output, s.supports_tools,
                   s.supports_structured_output, s.is_model_author, 0, :now, NULL, :run, NULL
               FROM stage_offers s WHERE NOT EXISTS (SELECT 1 FROM provider_offers o
                   WHERE o.model_id = s.model_id AND o.provider = s.provider AND o.valid_to IS NULL)"""
        )
        self._x(
            """UPDATE provider_offers SET misses = 0 WHERE valid_to IS NULL AND misses > 0 AND EXISTS
               (SELECT 1 FROM stage_offers s WHERE s.model_id = provider_offers.model_id AND s.provider = provider_offers.provider)"""
        )
        if not router_complete:
            return
        self._x(
            """UPDATE provider_offers SET misses = misses + 1 WHERE valid_to IS NULL AND NOT EXISTS
               (SELECT 1 FROM stage_offers s WHERE s.model_id = provider_offers.model_id AND s.provider = provider_offers.provider)"""
        )
        self._x(
            "UPDATE provider_offers SET valid_to = :now, run_to = :run WHERE valid_to IS NULL AND misses > 0 AND misses >= :n",
            n=self.history.retire_after_misses,
        )

    def _write_facts(self, inp: MergeInput) -> None:
        """Per-run facts: rankings, providers, run_sources (metrics were written as the pages were staged)."""
        if inp.rankings:
            self.conn.execute(
                text(
                    "INSERT INTO model_rankings (run_id, source, sort, rank, model_id) VALUES (:run, :source, :sort, :rank, :model_id)"
                ),
                [
                    {"run": self.run_id, "source": s, "sort": so, "rank": r, "model_id": m}
                    for s, so, r, m in inp.rankings
                ],
            )
        self._x(
            """INSERT INTO providers (provider, first_seen_run, last_seen_run, known_to_client)
               SELECT provider, :run, :run, known FROM stage_providers WHERE true
               ON CONFLICT (provider) DO UPDATE SET last_seen_run = excluded.last_seen_run, known_to_client = excluded.known_to_client"""
        )
        if inp.run_sources:
            self.conn.execute(
                text(
                    """INSERT INTO run_sources (run_id, source, "partition", sort, pages, items, complete, capped,
                           estimated_total, error, kind, parent, reached, proven, shrunk, requests)
                       VALUES (:run_id, :source, :partition, :sort, :pages, :items, :complete, :capped, :estimated_total,
                           :error, :kind, :parent, :reached, :proven, :shrunk, :requests)"""
                ),
                [{**row, "run_id": self.run_id} for row in inp.run_sources],
            )

    def _rows_written(self) -> dict[str, int]:
        """Rows this run added to each history table (the unchanged re-run's figure)."""
        out = {}
        for table in ("model_versions", "model_providers", "provider_offers", "gating_history", "catalog_membership"):
            out[table] = self._scalar(f"SELECT COUNT(*) FROM {table} WHERE run_from = :run")
        for table in ("model_metrics", "model_rankings", "run_sources", "rejects"):
            out[table] = self._scalar(f"SELECT COUNT(*) FROM {table} WHERE run_id = :run")
        return out
