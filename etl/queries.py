"""Read-side queries behind `status`, `diff` and `export`: plain SQL over the contract's tables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, CursorResult, Engine, bindparam, text

from .errors import UsageError
from .stamps import format_stamp, parse_stamp
from .transform import with_metrics


def status(engine: Engine, runs: int = 5) -> dict[str, Any]:
    """Last runs, the last run's per-listing completeness, table counts and the database size."""
    with engine.connect() as conn:
        last = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    """SELECT run_id, started_at, finished_at, status, "trigger", requests, models_seen, models_added,
               models_changed, models_removed, models_restored, rejects, error
               FROM runs ORDER BY run_id DESC LIMIT :n"""
                ),
                {"n": runs},
            )
        ]
        for run in last:  # the share history.max_reject_ratio bounds: rejected / (accepted + rejected)
            received = (run["models_seen"] or 0) + (run["rejects"] or 0)
            run["reject_ratio"] = round(run["rejects"] / received, 4) if received else 0.0
        sources: list[dict[str, Any]] = []
        if last:
            sources = [
                dict(r._mapping)
                for r in conn.execute(
                    text(
                        """SELECT source, kind, COUNT(*) AS listings, SUM(complete) AS complete, SUM(capped) AS capped,
                   SUM(CASE WHEN error IS NOT NULL AND capped = 0 THEN 1 ELSE 0 END) AS failed, SUM(items) AS items,
                   SUM(pages) AS pages FROM run_sources WHERE run_id = :r GROUP BY source, kind ORDER BY source, kind"""
                    ),
                    {"r": last[0]["run_id"]},
                )
            ]
        counts = {
            "listed_models": conn.execute(text("SELECT COUNT(*) FROM models WHERE listed = 1")).scalar(),
            "known_models": conn.execute(text("SELECT COUNT(*) FROM models")).scalar(),
            "live_mappings": conn.execute(
                text("SELECT COUNT(*) FROM model_providers WHERE valid_to IS NULL AND status = 'live'")
            ).scalar(),
            "providers": conn.execute(text("SELECT COUNT(*) FROM providers")).scalar(),
            "model_versions": conn.execute(text("SELECT COUNT(*) FROM model_versions")).scalar(),
            "health_checks": conn.execute(text("SELECT COUNT(*) FROM health_checks")).scalar(),
            "rejects": conn.execute(text("SELECT COUNT(*) FROM rejects")).scalar(),
        }
    return {"runs": last, "last_run_sources": sources, "counts": counts, "db_size_bytes": db_size(engine)}


def db_size(engine: Engine) -> int | None:
    if engine.dialect.name == "sqlite" and engine.url.database and engine.url.database != ":memory:":
        base = engine.url.database
        return sum(os.path.getsize(p) for p in (base, base + "-wal") if os.path.exists(p))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)
    return None


def resolve_since(engine: Engine, since: str | None) -> int:
    """--since RUN_ID|ISO_DATE -> the first run id to report (default: the last run)."""
    with engine.connect() as conn:
        if since is None:
            last = conn.execute(text("SELECT MAX(run_id) FROM runs WHERE status IN ('complete', 'partial')")).scalar()
            return int(last or 0)
        if since.isdigit():
            return int(since)
        stamp = parse_date(since, "--since")
        first = conn.execute(text("SELECT MIN(run_id) FROM runs WHERE started_at >= :s"), {"s": stamp}).scalar()
        return int(first) if first is not None else 1 << 30


def parse_date(value: str, flag: str) -> str:
    """An ISO date or datetime -> the stored timestamp format (UTC)."""
    try:
        parsed = parse_stamp(value)
    except ValueError:
        raise UsageError(
            f"{flag}: not an ISO date or run id: {value!r} (e.g. 2026-11-01 or 2026-11-01T12:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return format_stamp(parsed)


def changes(engine: Engine, since_run: int) -> list[dict[str, Any]]:
    """The change feed from `since_run` on, oldest first."""
    return list(iter_changes(engine, since_run))


@dataclass(frozen=True)
class AsOf:
    """A point in time to read the SCD2 tables at: now (stamp None) or a stored timestamp.

    Every as-of read (`export`, `export --format openrouter`, `serve`) takes its row filters from here, so the
    meaning of "as of" lives in one place.
    """

    stamp: str | None = None

    @classmethod
    def parse(cls, value: str | None, flag: str = "--as-of") -> AsOf:
        return cls(parse_date(value, flag) if value else None)

    def valid(self, alias: str) -> str:
        """The rows of an SCD2 table (by its alias) valid at this point; binds :t."""
        if self.stamp is None:
            return f"{alias}.valid_to IS NULL"
        return f"{alias}.valid_from <= :t AND ({alias}.valid_to IS NULL OR {alias}.valid_to > :t)"

    def last_run_sql(self) -> str:
        """The last loaded run at this point."""
        bound = "" if self.stamp is None else " AND started_at <= :t"
        return f"SELECT MAX(run_id) FROM runs WHERE status IN ('complete', 'partial'){bound}"

    def catalog_sql(self, columns: str, records: bool = False) -> str:
        """The members at this point, one row each, in model_id order: `m` the member's span (model_id, version_id,
        model_key; a row of catalog_spans, migration 0013), `s` its counters at run :run, and with `records` `v` its
        version's row.

        Binds :t and :run (`last_run_sql`); select counters with `metric`. A span is an overlap of a membership row
        and a version row of one model, so the spans valid at a time are exactly the members then with the version
        they had; they are read in model_id order from the table itself (its key), and each one's counters are
        looked up next to the previous model's (pages already read): one lookup per model. CROSS JOIN keeps that
        order on SQLite; PostgreSQL plans it as it likes.
        """
        version = " CROSS JOIN model_versions v" if records else ""
        same = " AND v.version_id = m.version_id" if records else ""
        return f"""SELECT {columns}
FROM catalog_spans m{version}
LEFT JOIN metric_spans s ON s.model_key = m.model_key AND s.run_from <= :run AND (s.run_to IS NULL OR s.run_to > :run)
WHERE {self.valid("m")}{same}"""

    def catalog_rows(self, conn: Connection, columns: str, records: bool = False) -> Iterator[tuple[Any, ...]]:
        """`catalog_sql`'s rows at this point in model_id order, streamed as the driver's tuples (`driver_rows`),
        counters at the last run loaded by then."""
        run = conn.execute(text(self.last_run_sql()), {"t": self.stamp}).scalar()
        sql = self.catalog_sql(columns, records) + " ORDER BY m.model_id"
        return driver_rows(
            conn.execution_options(stream_results=True).execute(text(sql), {"t": self.stamp, "run": run or 0})
        )

    @staticmethod
    def metric(column: str) -> str:
        """A counter of `catalog_sql`'s model at run :run: its latest span starting at or before that run.

        That is the span open at the run (`s`, one seek); a model absent from that run (a gap in its spans) gets
        its last counters before it, looked up only then. Spans of a model never overlap, so an open span is the
        latest one.
        """
        return (
            f"CASE WHEN s.model_key IS NOT NULL THEN s.{column} ELSE (SELECT x.{column} FROM metric_spans x "
            f"WHERE x.model_key = m.model_key AND x.run_from <= :run ORDER BY x.run_from DESC LIMIT 1) END"
        )


def export_records(engine: Engine, as_of: str | None) -> Iterator[dict[str, Any]]:
    """The catalog in the gateway schema, now or as of a date, streamed (one model at a time)."""
    at = AsOf.parse(as_of)
    with engine.connect() as conn:
        columns = f"v.record, {at.metric('downloads')}, {at.metric('likes')}"
        for record, downloads, likes in at.catalog_rows(conn, columns, records=True):
            yield with_metrics(orjson.loads(record), downloads, likes)


class OfferRow(NamedTuple):
    """One live (model, provider) mapping and the router's offer for it (None fields: the router has none)."""

    provider: str
    status: str | None  # the router's status of the offer; None with no offer
    context_length: int | None
    price_input: float | None  # USD per 1M tokens
    price_output: float | None
    supports_tools: int | None
    supports_structured_output: int | None
    has_offer: bool


OfferKey = tuple[tuple[Any, ...], ...]
"""A model's live mappings with their offers as the driver gave them (`offer_rows` makes them `OfferRow`s)."""


def catalog_offers(engine: Engine, at: AsOf) -> Iterator[tuple[Connection, list[tuple[int, OfferKey]]]]:
    """The listed models at `at`, by model id, in batches of about 1,000: (version id, live mappings with offers).

    One statement, streamed, that never reads a record (on SQLite the members with their version come from
    catalog_spans, the mappings from their as-of index); `version_records` fetches the records a caller does not
    have yet, on the connection yielded with each batch (the same snapshot). A model's mappings come as plain
    tuples without row ids, in no particular order, so equal offer sets are equal keys (callers memoize on them).
    """
    sql = text(
        f"""SELECT m.version_id, p.provider, o.status, o.context_length, o.price_input, o.price_output,
          o.supports_tools, o.supports_structured_output, CASE WHEN o.offer_id IS NULL THEN 0 ELSE 1 END
        FROM catalog_spans m
        LEFT JOIN model_providers p ON p.model_id = m.model_id AND p.status = 'live' AND {at.valid("p")}
        LEFT JOIN provider_offers o ON o.model_id = p.model_id AND o.provider = p.provider AND {at.valid("o")}
        WHERE {at.valid("m")} ORDER BY m.model_id"""
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(sql, {"t": at.stamp})
        rows = driver_rows(result)
        batch: list[tuple[int, OfferKey]] = []
        for version_id, group in groupby(rows, key=itemgetter(0)):
            batch.append((version_id, tuple(r[1:] for r in group if r[1] is not None)))
            if len(batch) >= 1000:
                yield conn, batch
                batch = []
        if batch:
            yield conn, batch


def driver_rows(result: CursorResult[Any]) -> Iterator[tuple[Any, ...]]:
    """A streamed result's rows as the driver's own tuples, 2,000 per driver call.

    SQLAlchemy's Row costs about 4 µs a row here (half a second of a 127,000-row list). Its first row goes through
    SQLAlchemy, which may hold exactly that one already (a server-side cursor's buffer starts with one row); the
    rest come from the DBAPI cursor. tests/test_as_of.py compares every row with a reading in Python, on both
    backends.
    """
    first = result.fetchone()
    if first is None:
        return
    yield tuple(first)
    cursor = result.cursor
    while chunk := cursor.fetchmany(2000):
        yield from chunk


def offer_rows(offers: OfferKey) -> list[OfferRow]:
    """`catalog_offers`' tuples of one model as OfferRows."""
    return [OfferRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7])) for r in offers]


def version_records(conn: Connection, version_ids: list[int]) -> dict[int, str]:
    """The stored gateway records (JSON text) of these versions."""
    if not version_ids:
        return {}
    sql = text("SELECT version_id, record FROM model_versions WHERE version_id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    return {version_id: record for version_id, record in conn.execute(sql, {"ids": version_ids})}


class EndpointRow(NamedTuple):
    """One current (model, provider) mapping, its offer, probe windows and latest probe."""

    provider: str
    mapping_status: str
    provider_model_id: str | None
    offer: OfferRow
    probes: dict[str, tuple[int, int]]  # window -> (ok, counted) probes
    last_checked_at: str | None
    last_outcome: str | None
    last_latency_ms: float | None


# Probe outcomes that say nothing about the provider (the caller's token, budget or rate): not in uptime.
NOT_COUNTED = ("unsupported", "auth", "payment", "rate_limited")
WINDOWS = {"5m": 300, "30m": 1800, "1d": 86400}


def model_endpoints(engine: Engine, model_id: str, at_epoch: float) -> tuple[str, list[EndpointRow]] | None:
    """The current record and every current mapping of a listed model (None: not in the catalog); one statement."""
    skip, now = ", ".join(f"'{o}'" for o in NOT_COUNTED), AsOf()
    windows = ",\n".join(
        f"""(SELECT SUM(CASE WHEN h.outcome = 'ok' THEN 1 ELSE 0 END) FROM health_checks h
            WHERE h.model_id = p.model_id AND h.provider = p.provider AND h.checked_epoch > :now - {s}
            AND h.outcome NOT IN ({skip})) AS ok_{w},
          (SELECT COUNT(*) FROM health_checks h WHERE h.model_id = p.model_id AND h.provider = p.provider
            AND h.checked_epoch > :now - {s} AND h.outcome NOT IN ({skip})) AS n_{w}"""
        for w, s in WINDOWS.items()
    )
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"""SELECT v.record, p.provider, p.status, p.provider_model_id, o.status, o.context_length,
                  o.price_input, o.price_output, o.supports_tools, o.supports_structured_output, o.offer_id,
                  hl.checked_at, hl.outcome, hl.latency_ms,
                  {windows}
                FROM catalog_membership c
                JOIN model_versions v ON v.model_id = c.model_id AND {now.valid("v")}
                LEFT JOIN model_providers p ON p.model_id = v.model_id AND {now.valid("p")}
                LEFT JOIN provider_offers o ON o.model_id = p.model_id AND o.provider = p.provider AND {now.valid("o")}
                LEFT JOIN health_latest hl ON hl.model_id = p.model_id AND hl.provider = p.provider
                WHERE c.model_id = :m AND {now.valid("c")} ORDER BY p.provider"""
            ),
            {"m": model_id, "now": at_epoch},
        ).all()
    if not rows:
        return None
    endpoints = []
    for r in rows:
        if r[1] is None:
            continue
        offer = OfferRow(r[1], r[4], r[5], r[6], r[7], r[8], r[9], r[10] is not None)
        probes = {w: (int(r[14 + 2 * i] or 0), int(r[15 + 2 * i])) for i, w in enumerate(WINDOWS)}
        endpoints.append(EndpointRow(r[1], r[2], r[3], offer, probes, r[11], r[12], r[13]))
    return rows[0][0], endpoints


def iter_changes(engine: Engine, since_run: int) -> Iterator[dict[str, Any]]:
    """The change feed from `since_run` on, oldest first, streamed.

    One query per run: the view's WHERE reaches each branch's run index, and only one run's changes are sorted.
    """
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT run_id FROM runs WHERE run_id >= :r ORDER BY run_id"), {"r": since_run})
        for (run_id,) in runs.all():
            rows = conn.execution_options(stream_results=True, yield_per=1000).execute(
                text(f"{_CHANGES} WHERE run_id = :r ORDER BY change, model_id, provider"), {"r": run_id}
            )
            yield from (dict(r._mapping) for r in rows)


def latest_changes(engine: Engine, since_run: int, limit: int) -> list[dict[str, Any]]:
    """At most `limit` changes, newest run first, from `since_run` on; within a run in the view's own order.

    Never sorts a whole run: a first run of 100k models has 300k changes, and a feed wants the last few.
    """
    found: list[dict[str, Any]] = []
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT run_id FROM runs WHERE run_id >= :r ORDER BY run_id DESC"), {"r": since_run})
        for (run_id,) in runs.all():
            rows = conn.execute(text(f"{_CHANGES} WHERE run_id = :r LIMIT :n"), {"r": run_id, "n": limit - len(found)})
            found += [dict(r._mapping) for r in rows]
            if len(found) >= limit:
                break
    return found


_CHANGES = "SELECT run_id, changed_at, model_id, provider, change, before, after FROM catalog_changes"


def data_version(engine: Engine) -> tuple[Any, ...] | None:
    """What the current catalog was loaded by: the newest complete or partial run (its id and end), None before any.

    A refresh's merge and its run's end commit together (`runs.finish`); nothing else changes the catalog.
    """
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT run_id, finished_at FROM runs WHERE status IN ('complete', 'partial') "
                "ORDER BY run_id DESC LIMIT 1"
            )
        ).first()
    return tuple(row) if row else None


def last_complete_run(engine: Engine) -> dict[str, Any] | None:
    """The newest complete run (its id, start and finish), or None."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT run_id, started_at, finished_at FROM runs WHERE status = 'complete' "
                "ORDER BY run_id DESC LIMIT 1"
            )
        ).first()
    return dict(row._mapping) if row else None
