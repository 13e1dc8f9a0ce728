"""Read-side queries behind `status`, `diff` and `export`: plain SQL over the contract's tables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, text

from .errors import UsageError
from .transform import with_metrics


def status(engine: Engine, runs: int = 5) -> dict[str, Any]:
    """Last runs, the last run's per-listing completeness, table counts and the database size."""
    with engine.connect() as conn:
        last = [
            dict(r._mapping)
            for r in conn.execute(
                text(
                    """SELECT run_id, started_at, finished_at, status, "trigger", requests, models_seen, models_added,
               models_changed, models_removed, models_restored, rejects, error FROM runs ORDER BY run_id DESC LIMIT :n"""
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
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{flag}: not an ISO date or run id: {value!r} (e.g. 2026-11-01 or 2026-11-01T12:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def changes(engine: Engine, since_run: int) -> list[dict[str, Any]]:
    """The change feed from `since_run` on, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT run_id, changed_at, model_id, provider, change, before, after FROM catalog_changes
               WHERE run_id >= :r ORDER BY run_id, change, model_id, provider"""
            ),
            {"r": since_run},
        )
        return [dict(r._mapping) for r in rows]


def export_records(engine: Engine, as_of: str | None) -> Iterator[dict[str, Any]]:
    """The catalog in the gateway schema, now or as of a date, streamed (one model at a time)."""
    stamp = parse_date(as_of, "--as-of") if as_of else None
    if stamp is None:
        membership = "c.valid_to IS NULL"
        version = "v.valid_to IS NULL"
        mapping = "p.valid_to IS NULL"
        run_sql = "SELECT MAX(run_id) FROM runs WHERE status IN ('complete', 'partial')"
    else:
        membership = "c.valid_from <= :t AND (c.valid_to IS NULL OR c.valid_to > :t)"
        version = "v.valid_from <= :t AND (v.valid_to IS NULL OR v.valid_to > :t)"
        mapping = "p.valid_from <= :t AND (p.valid_to IS NULL OR p.valid_to > :t)"
        run_sql = "SELECT MAX(run_id) FROM runs WHERE status IN ('complete', 'partial') AND started_at <= :t"
    with engine.connect() as conn:
        run_id = conn.execute(text(run_sql), {"t": stamp}).scalar()
        rows = conn.execution_options(stream_results=True, yield_per=1000).execute(
            text(
                f"""SELECT v.record, mm.downloads, mm.likes,
                   (SELECT COUNT(*) FROM model_providers p WHERE p.model_id = v.model_id AND p.status = 'live' AND {mapping})
                FROM catalog_membership c JOIN model_versions v ON v.model_id = c.model_id AND {version}
                JOIN models k ON k.model_id = v.model_id
                LEFT JOIN metric_spans mm ON mm.model_key = k.model_key AND mm.run_from = (
                    SELECT MAX(x.run_from) FROM metric_spans x WHERE x.model_key = k.model_key AND x.run_from <= :run)
                WHERE {membership} ORDER BY v.model_id"""
            ),
            {"t": stamp, "run": run_id or 0},
        )
        for record, downloads, likes, _live in rows:
            yield with_metrics(orjson.loads(record), downloads, likes)
