"""`hfsnap db prune|backup|vacuum`: metric roll-up by retention, a consistent copy, compaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from .errors import UsageError

# Days of runs re-examined by the pass after every refresh: a day is rolled up once it is past the retention
# window; the window gives a scheduler that skipped a few days its chance (`hfsnap db prune` examines them all).
AFTER_REFRESH_DAYS = 3


def cutoff(keep_days: int, now: datetime | None = None) -> str:
    """Start of the first UTC day kept run by run: runs started before it are rolled up to one per day."""
    day = ((now or datetime.now(UTC)).astimezone(UTC) - timedelta(days=keep_days)).date()
    return f"{day.isoformat()}T00:00:00Z"


def roll_up(conn: Connection, before: str, since: str | None = None) -> int:
    """Metric spans of runs started before `before` (and not before `since`): one per model per UTC day.

    For each model and day, every span that starts that day is folded into the day's last one (its value is the
    day's last value, and it now starts where the day's first one started). Returns the spans removed.
    """
    params = {"before": before, "since": since or ""}
    conn.exec_driver_sql("DROP TABLE IF EXISTS rollup_days")
    conn.exec_driver_sql("DROP TABLE IF EXISTS rollup_groups")
    conn.execute(
        text(
            """CREATE TEMPORARY TABLE rollup_days AS
               SELECT substr(started_at, 1, 10) AS day, MIN(run_id) AS lo, MAX(run_id) AS hi FROM runs
               WHERE started_at < :before AND started_at >= :since GROUP BY substr(started_at, 1, 10)"""
        ),
        params,
    )
    # A span that starts and ends within one day is followed by another that day (or by an absence): only those
    # days and models have anything to fold, found through the index on run_to.
    conn.execute(
        text(
            """CREATE TEMPORARY TABLE rollup_groups AS
               SELECT s.model_key AS model_key, d.lo AS lo, d.hi AS hi, MIN(s.run_from) AS first_run,
                   CAST(NULL AS INTEGER) AS last_run
               FROM rollup_days d JOIN metric_spans s ON s.run_to > d.lo AND s.run_to <= d.hi AND s.run_from >= d.lo
               WHERE s.run_to IS NOT NULL GROUP BY s.model_key, d.lo, d.hi"""
        )
    )
    conn.execute(
        text(
            """UPDATE rollup_groups SET last_run = (SELECT MAX(s.run_from) FROM metric_spans s
               WHERE s.model_key = rollup_groups.model_key
               AND s.run_from BETWEEN rollup_groups.lo AND rollup_groups.hi)"""
        )
    )
    removed = conn.execute(
        text(
            """DELETE FROM metric_spans WHERE (model_key, run_from) IN (SELECT s.model_key, s.run_from
               FROM rollup_groups g JOIN metric_spans s ON s.model_key = g.model_key
               AND s.run_from >= g.first_run AND s.run_from < g.last_run)"""
        ).execution_options(preserve_rowcount=True)
    ).rowcount
    conn.execute(
        text(
            """UPDATE metric_spans SET run_from = g.first_run FROM rollup_groups g
               WHERE g.model_key = metric_spans.model_key AND metric_spans.run_from = g.last_run
               AND g.first_run < g.last_run"""
        )
    )
    conn.exec_driver_sql("DROP TABLE rollup_groups")
    conn.exec_driver_sql("DROP TABLE rollup_days")
    return int(removed or 0)


def prune(engine: Engine, keep_days: int, now: datetime | None = None, recent_only: bool = False) -> int:
    """Roll up metric spans older than `keep_days` in one transaction; `recent_only`: the after-refresh pass."""
    before = cutoff(keep_days, now)
    since = cutoff(keep_days + AFTER_REFRESH_DAYS, now) if recent_only else None
    with engine.begin() as conn:
        return roll_up(conn, before, since)


def backup(engine: Engine, path: str) -> Path:
    """A consistent, compacted copy of a live SQLite database (VACUUM INTO reads one snapshot; writers go on).

    `engine` comes from `db.open_read_only`: the source is never created or written.
    """
    if engine.dialect.name != "sqlite":
        raise UsageError("db backup copies SQLite files; for PostgreSQL use pg_dump (e.g. pg_dump -Fc -f FILE URL)")
    target = Path(path)
    if target.exists():
        raise UsageError(f"db backup: {target} already exists; name a new file")
    if not target.parent.is_dir():
        raise UsageError(f"db backup: no such folder: {target.parent}")
    with engine.connect() as conn:
        # The source is opened mode=ro; query_only would refuse VACUUM INTO, which writes only the new file.
        conn.exec_driver_sql("PRAGMA query_only=OFF")
        conn.exec_driver_sql("VACUUM INTO ?", (str(target),))
    return target


def vacuum(engine: Engine) -> None:
    """Give free pages back to the file system (SQLite: VACUUM and a WAL truncation; PostgreSQL: VACUUM ANALYZE)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            conn.exec_driver_sql("VACUUM ANALYZE")
