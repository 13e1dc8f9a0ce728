"""Compact metrics: a row only when a value moves or a model was away, read back per run through model_metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from etl.cli import main as cli_main
from etl.pipeline import run_once

pytestmark = pytest.mark.both_backends


def _metrics(h, run: int) -> dict[str, tuple]:
    rows = h.sql("SELECT model_id, downloads, likes, trending_score FROM model_metrics WHERE run_id = ?", run)
    return {r[0]: tuple(r[1:]) for r in rows}


def _hub_counters(h, ids) -> dict[str, tuple]:
    out = {}
    for model_id in ids:
        item = h.catalog.models[model_id]
        out[model_id] = (item.get("downloads"), item.get("likes"), item.get("trendingScore"))
    return out


def test_unchanged_counters_store_nothing_and_every_run_reads_them(harness):
    h = harness()
    runs = [h.refresh().run_id for _ in range(3)]
    seen = len(_metrics(h, runs[0]))
    assert seen > 0
    assert h.one("SELECT COUNT(*) FROM metric_spans") == seen  # one row per model, however many runs
    expected = _hub_counters(h, _metrics(h, runs[0]))
    for run in runs:
        got = _metrics(h, run)
        assert {k: (d, likes) for k, (d, likes, _t) in got.items()} == {
            k: (d, likes) for k, (d, likes, _t) in expected.items()
        }


def test_a_changed_counter_adds_one_row_and_each_run_keeps_its_value(harness):
    h = harness()
    first = h.refresh().run_id
    model_id = sorted(_metrics(h, first))[0]
    before = h.catalog.models[model_id]["downloads"]
    spans = h.one("SELECT COUNT(*) FROM metric_spans")
    h.catalog.update(model_id, downloads=before + 777)
    second = h.refresh().run_id
    third = h.refresh().run_id
    assert h.one("SELECT COUNT(*) FROM metric_spans") == spans + 1
    assert _metrics(h, first)[model_id][0] == before
    assert _metrics(h, second)[model_id][0] == _metrics(h, third)[model_id][0] == before + 777


def test_a_model_away_for_a_run_has_no_row_that_run(harness):
    h = harness()
    first = h.refresh().run_id
    model_id = sorted(_metrics(h, first))[0]
    item = h.catalog.models[model_id]
    h.catalog.remove(model_id)
    away = h.refresh().run_id
    h.catalog.put(item)
    back = h.refresh().run_id
    assert model_id in _metrics(h, first)
    assert model_id not in _metrics(h, away)
    assert _metrics(h, back)[model_id] == _metrics(h, first)[model_id]


def test_prune_rolls_older_runs_up_to_each_days_last_value(harness, capsys):
    h = harness()  # its clock: 2026-01-01, one hour a reading: every run falls on that day, long past 30 days
    model_id = None
    runs, values = [], []
    for n in range(4):
        report = h.refresh()
        runs.append(report.run_id)
        model_id = model_id or sorted(_metrics(h, report.run_id))[0]
        values.append(_metrics(h, report.run_id)[model_id])
        h.catalog.update(model_id, downloads=1000 + n, likes=50 + n)
    assert (
        h.one("SELECT COUNT(*) FROM metric_spans s JOIN models m USING (model_key) WHERE m.model_id = ?", model_id) == 4
    )
    others = {k: v for k, v in _metrics(h, runs[-1]).items() if k != model_id}
    assert cli_main(["db", "prune", "--db", h.url]) == 0
    assert "3 rows removed" in capsys.readouterr().out
    spans = h.sql(
        "SELECT run_from, run_to FROM metric_spans s JOIN models m USING (model_key) WHERE m.model_id = ?", model_id
    )
    assert spans == [(runs[0], None)]  # one row for the day, from its first run
    for run in runs:  # every run of the day reads the day's last value; the others are untouched
        got = _metrics(h, run)
        assert got[model_id] == values[-1]
        assert {k: v for k, v in got.items() if k != model_id} == others
    assert cli_main(["db", "prune", "--db", h.url]) == 0  # idempotent
    assert "0 rows removed" in capsys.readouterr().out


def test_another_writer_goes_on_while_a_refresh_stages(harness, backend):
    """The refresh holds no write lock between pages: a health probe's row commits meanwhile, then the run does."""
    h = harness(models=600)
    wrote: list[int] = []

    def between_pages(_seen: int) -> None:
        if wrote:
            return
        args = {"connect_args": {"timeout": 1}} if backend == "sqlite" else {}
        engine = create_engine(h.url, poolclass=NullPool, **args)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO health_checks (model_id, provider, checked_at, checked_epoch, outcome) "
                    "VALUES ('a/b', 'novita', '2026-01-01T00:00:00Z', 0, 'ok')"
                )
            )
        engine.dispose()
        wrote.append(1)

    h.refresh()  # the schema exists; the second run is the one interleaved with a writer
    with h.client() as client:
        report = run_once(h.config, client, clock=h.clock, progress=between_pages)
    assert wrote and report.status == "complete"
    assert h.one("SELECT COUNT(*) FROM health_checks") == 1
    assert h.one("SELECT status FROM runs WHERE run_id = ?", report.run_id) == "complete"


def test_backup_copies_a_live_sqlite_file_and_vacuum_compacts(harness, backend, tmp_path: Path, capsys):
    h = harness()
    h.refresh()
    if backend == "postgresql":
        assert cli_main(["db", "backup", str(tmp_path / "x.db"), "--db", h.url]) == 2
        assert "pg_dump" in capsys.readouterr().err
        assert cli_main(["db", "vacuum", "--db", h.url]) == 0
        return
    target = tmp_path / "copy.db"
    assert cli_main(["db", "backup", str(target), "--db", h.url]) == 0
    engine = create_engine(f"sqlite:///{target}", poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM model_metrics")).scalar() == h.one(
            "SELECT COUNT(*) FROM model_metrics"
        )
    engine.dispose()
    assert cli_main(["db", "backup", str(target), "--db", h.url]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err
    assert cli_main(["db", "vacuum", "--db", h.url]) == 0
    assert h.refresh().status == "complete"
