"""Load: a 100k-model snapshot, first refresh and unchanged re-run, each against the floor measured in the same run."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from etl.extract import EXPAND, PRIMARY_SORT
from etl.pipeline import run_once

from .common import bench_config, fake_hub, table

MODELS = 100_000


def floor(url: str, partitions: list[str], db: Path) -> tuple[float, int]:
    """The same pages fetched by a bare sequential loop, then one sqlite3 executemany of one row per model."""
    t0 = time.perf_counter()
    rows: dict[str, bytes] = {}
    with httpx.Client(timeout=120) as client:
        for provider in partitions:
            url_: str | None = f"{url}/api/models"
            params: list | None = [("inference_provider", provider), ("limit", "1000"), ("sort", PRIMARY_SORT)] + [("expand", e) for e in EXPAND]
            while url_:
                r = client.get(url_, params=params)
                for item in orjson.loads(r.content):
                    rows[item["id"]] = orjson.dumps(item)
                url_ = r.links.get("next", {}).get("url")
                params = None
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE floor (model_id TEXT PRIMARY KEY, item TEXT)")
        conn.executemany("INSERT INTO floor VALUES (?, ?)", ((k, v.decode()) for k, v in rows.items()))
    return time.perf_counter() - t0, len(rows)


def main() -> None:
    with fake_hub(MODELS) as url, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.db"
        config = bench_config(url, db)
        t0 = time.perf_counter()
        first = run_once(config, token="hf_bench")
        t_first = time.perf_counter() - t0
        partitions = sorted({l.filters["inference_provider"] for l in first.listings if l.kind != "top"})
        t_floor, n = floor(url, partitions, Path(tmp) / "floor.db")
        t0 = time.perf_counter()
        second = run_once(config, token="hf_bench")
        t_second = time.perf_counter() - t0
        t_floor2, _ = floor(url, partitions, Path(tmp) / "floor2.db")
    rows = [
        ("first refresh", f"{t_first:.2f}s", f"{t_floor:.2f}s", f"{t_first / t_floor:.2f}x", "2.5x", first.status, first.counts.models_seen),
        ("unchanged re-run", f"{t_second:.2f}s", f"{t_floor2:.2f}s", f"{t_second / t_floor2:.2f}x", "1.0x", second.status,
         sum(v for k, v in second.counts.rows_written.items() if k in ("model_versions", "model_providers", "provider_offers", "gating_history", "catalog_membership"))),
    ]
    print(f"load: {MODELS} models in the hub, {n} provider-served, {len(partitions)} provider partitions, no latency")
    print(table(rows, ("run", "hfsnap", "floor", "ratio", "target", "status", "models seen / SCD2 rows")))
    print("re-run rows written per table:", second.counts.rows_written)


if __name__ == "__main__":
    main()
