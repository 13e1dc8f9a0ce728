"""Migrations that convert a database in place: 0009 (every version, mapping, offer, gating row and metric survives),
0012 (every membership row gets its model's integer key) and 0013 (catalog_spans filled as the loader keeps it)."""

from __future__ import annotations

import pytest
from alembic import command
from conftest import Harness
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from etl.db import alembic_config, current, head, upgrade
from etl.scd2 import SCD2_TABLES

pytestmark = pytest.mark.both_backends

OLD_FACTS = {
    "model_metrics": "SELECT run_id, model_id, downloads, likes, trending_score, downloads_all_time FROM model_metrics"
    " ORDER BY run_id, model_id",
    "model_rankings": "SELECT run_id, source, sort, rank, model_id FROM model_rankings"
    " ORDER BY run_id, source, sort, rank",
}
# Columns migrations after 0004 add (0007, 0012): absent from the 0004 dump; their filled-in values are checked apart.
ADDED = {"provider_offers": {"unmapped"}, "providers": {"misses", "retired_run"}, "catalog_membership": {"model_key"}}
KEYED = (  # membership rows whose model_key is their model's
    "SELECT COUNT(*) FROM catalog_membership c JOIN models m ON m.model_id = c.model_id AND m.model_key = c.model_key"
)


def _history(h: Harness) -> None:
    """Five runs: drifting counters, a gating flip, a model away for a run, a price change, a top source."""
    ids = sorted(h.catalog.served_ids())
    h.refresh()
    for n, model_id in enumerate(ids[:40]):
        h.catalog.update(model_id, downloads=n * 7, likes=None if n % 5 == 0 else n)
    gated = next(m for m in ids if h.catalog.models[m].get("gated") is False)
    h.catalog.update(gated, gated="manual")
    h.refresh()
    away = ids[50]
    item = h.catalog.models[away]
    h.catalog.remove(away)
    priced = next(m for m, entries in sorted(h.catalog.router.items()) if any(e.get("pricing") for e in entries))
    entries = [dict(e) for e in h.catalog.router[priced]]
    next(e for e in entries if e.get("pricing"))["pricing"] = {"input": 1.5, "output": 2.5}
    h.catalog.set_router(priced, entries)
    h.refresh()
    h.catalog.put(item)
    h.refresh()
    h.refresh()


def _history_at(h: Harness, revision: str) -> Engine:
    """Several runs of history, then the database downgraded to `revision` (an engine on it, to dispose)."""
    _history(h)
    return _downgrade(h, revision)


def _downgrade(h: Harness, revision: str) -> Engine:
    engine = create_engine(h.url, poolclass=NullPool)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return engine


def _dump(h: Harness) -> dict[str, list[tuple]]:
    out = {name: h.sql(query) for name, query in OLD_FACTS.items()}
    engine = create_engine(h.url, poolclass=NullPool)
    columns = {t: [c["name"] for c in inspect(engine).get_columns(t)] for t in (*SCD2_TABLES, "providers")}
    engine.dispose()
    for table in (*SCD2_TABLES, "runs", "run_sources", "rejects", "providers"):
        kept = [f'"{c}"' for c in columns[table] if c not in ADDED.get(table, ())] if table in columns else ["*"]
        out[table] = sorted(h.sql(f"SELECT {', '.join(kept)} FROM {table}"), key=repr)
    models = "model_id, author, gated, listed, first_seen_run, last_seen_run, misses, row_hash, raw_hash"
    out["models"] = h.sql(f"SELECT {models} FROM models ORDER BY model_id")
    return out


def test_0009_upgrades_a_0004_database_without_losing_a_value(harness):
    h = harness(models=200)
    engine = _history_at(h, "0004")  # the 0004 tables, filled back from the spans
    assert current(engine) == "0004"
    # Rows only the 0004 loader wrote: a committed run where values repeat, move and go NULL, a failed run,
    # then a run where a model comes back with the value it had before its gap.
    with engine.begin() as conn:
        last = conn.execute(text("SELECT MAX(run_id) FROM runs")).scalar_one()
        for offset, status in ((1, "complete"), (2, "failed"), (3, "partial")):
            run = conn.execute(
                text("INSERT INTO runs (started_at, status, \"trigger\") VALUES (:s, :st, 'manual') RETURNING run_id"),
                {"s": f"2026-02-0{offset}T00:00:00.000000Z", "st": status},
            ).scalar_one()
            assert run == last + offset
        rows = conn.execute(
            text("SELECT model_id, downloads, likes FROM model_metrics WHERE run_id = :r ORDER BY model_id"),
            {"r": last},
        ).all()
        assert len(rows) > 20
        for i, (model_id, downloads, likes) in enumerate(rows[:20]):
            values = (downloads, likes) if i % 3 == 0 else ((downloads or 0) + 1, None)
            conn.execute(
                text("INSERT INTO model_metrics (run_id, model_id, downloads, likes) VALUES (:r, :m, :d, :l)"),
                {"r": last + 1, "m": model_id, "d": values[0], "l": values[1]},
            )
            if i % 2 == 0:  # back after the gap of run last + 1 (for some) with the values of run `last`
                conn.execute(
                    text("INSERT INTO model_metrics (run_id, model_id, downloads, likes) VALUES (:r, :m, :d, :l)"),
                    {"r": last + 3, "m": model_id, "d": downloads, "l": likes},
                )
        conn.execute(
            text(
                "INSERT INTO model_rankings (run_id, source, sort, rank, model_id) VALUES (:r, 's', 'downloads', 1, :m)"
            ),
            {"r": last + 1, "m": rows[0][0]},
        )
    before = _dump(h)
    assert before["model_metrics"] and before["model_rankings"]
    upgrade(engine)
    assert current(engine) == head()
    after = _dump(h)
    assert after == before
    assert h.sql("SELECT DISTINCT unmapped FROM provider_offers") == [(0,)]  # 0007's default, until the next merge
    assert h.sql("SELECT DISTINCT misses, retired_run FROM providers") == [(0, None)]
    assert h.one(KEYED) == h.one("SELECT COUNT(*) FROM catalog_membership")  # 0012
    engine.dispose()
    # and the history goes on from the converted database
    assert h.refresh().status == "complete"


def test_0012_gives_every_membership_row_its_models_key(harness):
    h = harness(models=200)
    engine = _history_at(h, "0011_asof_indexes")
    assert current(engine) == "0011_asof_indexes"
    assert "model_key" not in {c["name"] for c in inspect(engine).get_columns("catalog_membership")}
    before = _dump(h)
    upgrade(engine)
    assert current(engine) == head()
    assert _dump(h) == before  # every other column of every table as it was
    rows = h.one("SELECT COUNT(*) FROM catalog_membership")
    assert h.one(KEYED) == rows
    engine.dispose()
    # rows the loader opens carry the key too: a model is retired, then restored
    ids = sorted(h.catalog.served_ids())
    item = h.catalog.models[ids[60]]
    h.catalog.remove(ids[60])
    h.refresh()
    h.refresh()
    h.catalog.put(item)
    assert h.refresh().status == "complete"
    assert h.one("SELECT COUNT(*) FROM catalog_membership WHERE model_id = ?", ids[60]) == 2  # removed, restored
    assert h.one(KEYED) == h.one("SELECT COUNT(*) FROM catalog_membership")


SPANS = "SELECT model_id, run_from, run_to, valid_from, valid_to, version_id, model_key FROM catalog_spans"


def test_0013_fills_catalog_spans_as_the_loader_kept_them(harness):
    h = harness(models=200)
    _history(h)
    ids = sorted(h.catalog.served_ids())  # and a model retired, then restored with a new version
    item = dict(h.catalog.models[ids[60]], lastModified="2026-03-03T00:00:00.000Z")
    h.catalog.remove(ids[60])
    h.refresh()
    h.refresh()
    h.catalog.put(item)
    assert h.refresh().status == "complete"
    assert h.one("SELECT COUNT(*) FROM catalog_membership WHERE model_id = ?", ids[60]) == 2
    kept = sorted(h.sql(SPANS), key=repr)
    assert len(kept) > h.one("SELECT COUNT(*) FROM catalog_membership")  # versions changed within memberships
    engine = _downgrade(h, "0012_membership_keys")
    assert current(engine) == "0012_membership_keys"
    assert "catalog_spans" not in inspect(engine).get_table_names()
    before = _dump(h)
    upgrade(engine)
    assert current(engine) == head()
    assert _dump(h) == before
    assert sorted(h.sql(SPANS), key=repr) == kept
    engine.dispose()
    h.catalog.update(ids[61], lastModified="2026-03-04T00:00:00.000Z")  # the loader goes on from the filled table
    assert h.refresh().status == "complete"
    assert h.one("SELECT COUNT(*) FROM catalog_spans WHERE model_id = ? AND valid_to IS NULL", ids[61]) == 1
    assert h.one("SELECT COUNT(*) FROM catalog_spans WHERE model_id = ?", ids[61]) == 2
