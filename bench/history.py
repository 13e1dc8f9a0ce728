"""History: 30 refreshes of a 30,000-model catalog at the Hub's rhythm; growth per run and read times as it ages.

Counters move every 4th run (the Hub updates them about daily; 4 runs a day) and about 150 items change per run
(a new lastModified, a gating flip, a mapping's status, a router price). Prints the database growth per listed
model per run, the 30th refresh's time against the 2nd, and at runs 2, 10 and 30 the time of five reads (the
catalog as of a past date twice: its rows in SQL, and `hfsnap export --as-of`, which also parses every record).
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from etl.fakehub import Catalog, generate_catalog, make_app
from etl.hub import HubClient
from etl.pipeline import Clock, run_once
from etl.queries import AsOf, export_records

from .common import bench_config, table

MODELS = int(os.environ.get("HFSNAP_BENCH_HISTORY_MODELS", "30000"))
RUNS = int(os.environ.get("HFSNAP_BENCH_HISTORY_RUNS", "30"))
CHANGES = 150  # items changed per run
PROBES = (2, 10, 30)


class RunClock(Clock):
    """Six hours per run (4 runs a day), a millisecond per reading within a run."""

    def __init__(self) -> None:
        self.start = datetime(2026, 1, 1, 0, 17, tzinfo=UTC)
        self.run = 0
        self.ticks = 0
        super().__init__(self._now)

    def _now(self) -> datetime:
        self.ticks += 1
        return self.start + timedelta(hours=6 * self.run, milliseconds=self.ticks)


def drift(catalog: Catalog, run: int, rnd: random.Random) -> None:
    """The Hub between two runs: counters every 4th run, ~150 changed items every run."""
    if run % 4 == 1:
        for item in catalog.models.values():
            downloads = item.get("downloads") or 0
            item["downloads"] = downloads + rnd.randrange(0, 50) + downloads // 100
            item["downloadsAllTime"] = (item.get("downloadsAllTime") or 0) + rnd.randrange(0, 60)
            if rnd.random() < 0.3:
                item["likes"] = (item.get("likes") or 0) + 1
            item["trendingScore"] = rnd.randrange(0, 40) if rnd.random() < 0.2 else 0
    served = sorted(catalog.served_ids())
    for n, model_id in enumerate(rnd.sample(served, CHANGES)):
        item = catalog.models[model_id]
        if n % 10 == 0:
            item["gated"] = "auto" if item.get("gated") is False else False
        elif n % 10 == 1 and item.get("inferenceProviderMapping"):
            mapping = [dict(e) for e in item["inferenceProviderMapping"]]
            mapping[0]["status"] = "staging" if mapping[0].get("status") == "live" else "live"
            item["inferenceProviderMapping"] = mapping
        elif n % 10 == 2 and catalog.router.get(model_id):
            entries = [dict(e) for e in catalog.router[model_id]]
            if entries[0].get("pricing"):
                entries[0]["pricing"] = {k: round(v * 1.1, 4) for k, v in entries[0]["pricing"].items()}
            catalog.router[model_id] = entries
        else:
            item["lastModified"] = f"2026-{1 + run // 28:02d}-{1 + run % 28:02d}T{n % 24:02d}:00:00.000Z"
    catalog.touch()


def db_bytes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db.stat().st_size


def timed(fn: Callable[[], Any]) -> float:
    """Best of three, in milliseconds."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


# The catalog at a past moment: its members, their version and their counters at the last run before it, in the
# formulation `hfsnap export --as-of` and `serve ?as_of=` use (`queries.AsOf`), rows as the driver's tuples.
AS_OF_COLUMNS = f"m.model_id, m.version_id, {AsOf.metric('downloads')}, {AsOf.metric('likes')}"


def catalog_as_of(conn: Connection, stamp: str) -> list[Any]:
    return list(AsOf(stamp).catalog_rows(conn, AS_OF_COLUMNS))


def reads(engine: Engine, run: int, pair: tuple[str, str], model_id: str) -> dict[str, float]:
    """The five reads of the issue, against the contract's views and tables."""
    with engine.connect() as conn:
        past = conn.execute(text("SELECT started_at FROM runs WHERE run_id = :r"), {"r": max(1, run // 2)}).scalar()

        def rows(sql: str, **params: Any) -> Callable[[], list[Any]]:
            return lambda: conn.execute(text(sql), params).all()

        return {
            "change feed": timed(rows("SELECT * FROM catalog_changes WHERE run_id = :r", r=run)),
            "price history": timed(
                rows(
                    "SELECT valid_from, price_input, price_output FROM provider_offers "
                    "WHERE model_id = :m AND provider = :p ORDER BY run_from",
                    m=pair[0],
                    p=pair[1],
                )
            ),
            "download series": timed(
                rows("SELECT run_id, downloads FROM model_metrics WHERE model_id = :m ORDER BY run_id", m=model_id)
            ),
            "top 10": timed(
                rows(
                    "SELECT model_id, downloads FROM model_metrics WHERE run_id = :r "
                    "ORDER BY downloads DESC, model_id LIMIT 10",
                    r=run,
                )
            ),
            "catalog as of (SQL)": timed(lambda: catalog_as_of(conn, past)),
            "export --as-of": timed(lambda: sum(1 for _ in export_records(engine, past))),
        }


def main() -> None:
    rnd = random.Random(7)
    catalog = generate_catalog(MODELS, seed=3)
    app = make_app(catalog)
    clock = RunClock()
    times: dict[int, float] = {}
    cpu: dict[int, float] = {}  # process CPU time: less moved than wall time by other jobs on a shared machine
    sizes: dict[int, int] = {}
    probes: list[tuple[Any, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.db"
        config = bench_config("http://hub.bench", db)
        engine = create_engine(f"sqlite:///{db}", poolclass=NullPool)
        for run in range(1, RUNS + 1):
            if run > 1:
                drift(catalog, run, rnd)
            clock.run = run
            t0, c0 = time.perf_counter(), time.process_time()
            with HubClient(config.hub, token="hf_bench", transport=httpx.WSGITransport(app=app)) as client:
                report = run_once(config, client, clock=clock)
            times[run] = time.perf_counter() - t0
            cpu[run] = time.process_time() - c0
            sizes[run] = db_bytes(db)
            assert report.status == "complete", report.incomplete
            if run in PROBES:
                with engine.connect() as conn:
                    pair = conn.execute(
                        text(
                            "SELECT model_id, provider FROM provider_offers GROUP BY model_id, provider "
                            "ORDER BY COUNT(*) DESC, model_id LIMIT 1"
                        )
                    ).one()
                    model_id = conn.execute(
                        text("SELECT model_id FROM models WHERE listed = 1 ORDER BY model_id LIMIT 1")
                    ).scalar_one()
                got = reads(engine, report.run_id, (pair[0], pair[1]), model_id)
                probes.append((run, *(f"{v:.1f}" for v in got.values())))
                names = list(got)
        with engine.connect() as conn:
            listed = int(conn.execute(text("SELECT COUNT(*) FROM models WHERE listed = 1")).scalar_one())
            spans = int(conn.execute(text("SELECT COUNT(*) FROM metric_spans")).scalar_one())
            versions = int(conn.execute(text("SELECT COUNT(*) FROM model_versions")).scalar_one())
        engine.dispose()
    growth = (sizes[RUNS] - sizes[1]) / (RUNS - 1) / listed
    print(
        f"history: {MODELS} models in the hub, {listed} listed, {RUNS} refreshes (counters move every 4th run, "
        f"{CHANGES} items change per run); {spans} metric rows, {versions} versions at the end"
    )
    print(
        f"growth: {growth:.1f} bytes per listed model per run (target <= 40, stretch 25); "
        f"database {sizes[1] / 1e6:.1f} MB after run 1, {sizes[RUNS] / 1e6:.1f} MB after run {RUNS}"
    )
    print(
        f"refresh time: run 2 {times[2]:.2f}s, run {RUNS} {times[RUNS]:.2f}s, ratio {times[RUNS] / times[2]:.2f}x "
        f"(target <= 1.2x); all: {' '.join(f'{times[r]:.1f}' for r in sorted(times))}"
    )
    print(
        f"refresh CPU time (this process, fake hub included): run 2 {cpu[2]:.2f}s, run {RUNS} {cpu[RUNS]:.2f}s, "
        f"ratio {cpu[RUNS] / cpu[2]:.2f}x; all: {' '.join(f'{cpu[r]:.1f}' for r in sorted(cpu))}"
    )
    print("reads (ms, best of 3; target < 100 and flat across runs):")
    print(table(probes, ("run", *names)))


if __name__ == "__main__":
    main()
