"""`hfsnap db copy`: a SQLite history moved into an empty database (SQLite, PostgreSQL) reads the same and goes on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Harness, run_sql
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from etl.cli import main as cli_main
from etl.copy import copy_database
from etl.fakehub import parse_fault
from etl.schema import metadata

pytestmark = pytest.mark.both_backends


@pytest.fixture
def history(tmp_path: Path) -> Iterator[Harness]:
    """A SQLite file with four runs of history.

    A gating flip, a retired model, a price change, rejects, health checks.
    """
    h = Harness(tmp_path, models=300)
    h.app.faults.append(parse_fault("malformed:count=2,times=1"))
    h.refresh()
    first, second = sorted(h.catalog.served_ids())[:2]
    h.catalog.update(first, gated="manual" if h.catalog.models[first].get("gated") is False else False)
    h.catalog.remove(second)
    priced = next(m for m, entries in sorted(h.catalog.router.items()) if any(e.get("pricing") for e in entries))
    entries = [dict(e) for e in h.catalog.router[priced]]
    next(e for e in entries if e.get("pricing"))["pricing"] = {"input": 123.0, "output": 0.25}  # prices print alike
    h.catalog.set_router(priced, entries)
    for _ in range(3):
        h.refresh()
    for n, outcome in enumerate(("ok", "payment")):
        h.sql(
            "INSERT INTO health_checks "
            "(model_id, provider, checked_at, checked_epoch, outcome, http_status, latency_ms) "
            "VALUES (?, 'novita', ?, ?, ?, 200, 12.5)",
            first,
            f"2026-01-02T00:00:0{n}.000000Z",
            1767312000.0 + n,
            outcome,
        )
    yield h
    h.close()


@pytest.fixture
def target(new_db: Callable[[str], str]) -> str:
    """An empty database of the test's backend, beside the history's SQLite file."""
    return new_db("target")


def _dump(url: str) -> dict[str, list[tuple]]:
    """Every table and view, rows in a fixed order, columns named (their order may differ between backends)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        out = {}
        for table in metadata.sorted_tables:
            cols = ", ".join(f'"{c.name}"' for c in table.columns)
            keys = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
            out[table.name] = run_sql(engine, f"SELECT {cols} FROM {table.name} ORDER BY {keys}")
        out["catalog"] = run_sql(engine, "SELECT * FROM catalog ORDER BY id")
        out["catalog_changes"] = run_sql(
            engine, "SELECT * FROM catalog_changes ORDER BY run_id, change, model_id, provider, before"
        )
        out["health_latest"] = run_sql(engine, "SELECT * FROM health_latest ORDER BY model_id, provider")
        out["model_metrics"] = run_sql(engine, "SELECT * FROM model_metrics ORDER BY run_id, model_id")
        out["model_rankings"] = run_sql(engine, "SELECT * FROM model_rankings ORDER BY run_id, source, sort, rank")
        return out
    finally:
        engine.dispose()


def test_copy_reproduces_every_table_and_view(history: Harness, target: str) -> None:
    rows = copy_database(history.url, target, batch=50)  # many batches per table
    source = _dump(history.url)
    assert _dump(target) == source
    assert rows == {t: len(source[t]) for t in rows}
    assert all(
        rows[t]
        for t in ("runs", "run_sources", "model_versions", "ranking_spans", "metric_spans", "rejects", "health_checks")
    )


def test_refresh_goes_on_from_the_copy(history: Harness, target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["db", "copy", "--from", history.url, "--to", target]) == 0
    assert capsys.readouterr().out.startswith("copied ")
    copy = Harness(history.db.parent / "copy", url=target)  # the same hub, now loading into the copy
    copy.app, copy.catalog, copy.clock = history.app, history.catalog, history.clock
    counts = copy.scd2_counts()
    assert copy.refresh().counts.models_added == 0 and copy.scd2_counts() == counts  # unchanged: no new row
    model_id = sorted(history.catalog.served_ids())[3]
    history.catalog.update(model_id, gated="auto" if history.catalog.models[model_id].get("gated") is False else False)
    report = copy.refresh()  # new SCD2 rows take ids after the copied ones (PostgreSQL sequences were reset)
    assert report.run_id == 6 and report.counts.models_changed == 1
    assert copy.one("SELECT MAX(version_id) FROM model_versions") == counts["model_versions"] + 1


def test_copy_refuses_a_non_empty_target(history: Harness, target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["db", "copy", "--from", history.url, "--to", target]) == 0
    capsys.readouterr()
    assert cli_main(["db", "copy", "--from", history.url, "--to", target]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hfsnap db: --to: ") and "is not empty (table catalog_membership has rows)" in err
    assert len(_dump(target)["runs"]) == 4


@pytest.mark.parametrize(
    "args, message",
    [
        (["--to", "sqlite:///x.db"], "db copy needs --from URL and --to URL"),
        (["--from", "sqlite:///{tmp}/missing.db", "--to", "sqlite:///{tmp}/t.db"], "--from: no such SQLite file: "),
        (
            ["--from", "sqlite:///{tmp}/t.db", "--to", "sqlite:///{tmp}/../{name}/t.db"],
            "--from and --to are the same database",
        ),
    ],
)
def test_copy_usage_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    args = [a.format(tmp=tmp_path, name=tmp_path.name) for a in args]
    assert cli_main(["db", "copy", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"hfsnap db: {message}")
    assert not (tmp_path / "missing.db").exists()


def test_copy_from_postgresql_back_to_sqlite(history: Harness, pg_url: str, tmp_path: Path) -> None:
    copy_database(history.url, pg_url)
    back = f"sqlite:///{tmp_path / 'back.db'}"
    copy_database(pg_url, back, batch=64)
    assert _dump(back) == _dump(history.url)


def test_a_failed_copy_leaves_the_target_empty(
    history: Harness, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    history.sql("UPDATE metric_spans SET likes = 'many' WHERE run_from = 1")  # SQLite keeps it; PostgreSQL will not
    assert cli_main(["db", "copy", "--from", history.url, "--to", pg_url]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines of the tables copied before
    assert (
        last.startswith("hfsnap db: copying table metric_spans failed, the target is left empty: ") and '"many"' in last
    )
    assert all(rows == [] for name, rows in _dump(pg_url).items())
    history.sql("UPDATE metric_spans SET likes = 0 WHERE run_from = 1")
    assert cli_main(["db", "copy", "--from", history.url, "--to", pg_url]) == 0  # the same empty target, again
