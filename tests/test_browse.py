"""`hfsnap browse`: Datasette over a snapshot made by real refreshes against the fake hub, through Datasette's own
test client; the views of migration 0005 on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from conftest import TOKEN, StepClock, make_config, run_sql
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from etl.browse import load_metadata, make_datasette, snapshot_path
from etl.cli import main as cli_main
from etl.db import head
from etl.errors import UsageError
from etl.fakehub import generate_catalog, make_app
from etl.fakehub.catalog import Catalog
from etl.health import health_client, run_health
from etl.hub import HubClient
from etl.pipeline import run_once

pytestmark = pytest.mark.both_backends


class Story:
    """A fake hub and a snapshot of it that has lived through a few days: drops, a lost model, a price change."""

    def __init__(self, url: str) -> None:
        self.catalog: Catalog = generate_catalog(400, seed=7)
        self.app = make_app(self.catalog)
        self.config = make_config(url)
        self.url = url
        # Runs a few hours apart, ending about now, so "the last 7 days" holds them and a date falls between them.
        self.clock = StepClock(datetime.now(UTC) - timedelta(days=2))
        self.facts: dict[str, Any] = {}

    def refresh(self) -> None:
        transport = httpx.WSGITransport(app=self.app)
        with HubClient(self.config.hub, token=TOKEN, transport=transport, sleep=lambda _s: None) as client:
            report = run_once(self.config, client, clock=self.clock)
        assert report.status == "complete", report.incomplete

    def probe(self) -> None:
        transport = httpx.WSGITransport(app=self.app)
        with health_client(self.config, token=TOKEN, transport=transport) as client:
            run_health(self.config, client, limit=40, clock=lambda: self.clock.t)

    def live(self, model_id: str) -> list[dict[str, Any]]:
        return [e for e in self.catalog.models[model_id]["inferenceProviderMapping"] if e["status"] == "live"]

    def play(self) -> None:
        self.refresh()
        self.probe()
        self.facts["first_run_at"] = self.clock.t
        served = sorted(self.catalog.served_ids())
        several = next(m for m in served if len(self.live(m)) >= 2)
        mapping = [dict(e) for e in self.catalog.models[several]["inferenceProviderMapping"]]
        dropped = next(e for e in mapping if e["status"] == "live")
        self.catalog.set_mapping(several, [e for e in mapping if e is not dropped])
        lone = next(m for m in served if m != several and len(self.catalog.models[m]["inferenceProviderMapping"]) == 1)
        lone_provider = self.catalog.models[lone]["inferenceProviderMapping"][0]["provider"]
        self.catalog.set_mapping(lone, [])
        priced = next(
            m
            for m, es in sorted(self.catalog.router.items())
            if m in served and m not in (several, lone) and any(e.get("pricing") for e in es)
        )
        entries = [dict(e) for e in self.catalog.router[priced]]
        offer = next(e for e in entries if e.get("pricing"))
        offer["pricing"] = {"input": 123.0, "output": 456.0}
        self.catalog.set_router(priced, entries)
        self.clock.t += timedelta(hours=6)
        self.refresh()
        self.refresh()  # retire_after_misses = 2: the drops are proven now
        self.facts.update(
            dropped=(several, dropped["provider"]), lone=(lone, lone_provider), priced=(priced, offer["provider"])
        )

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            return run_sql(engine, query, *params)
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    """The SQLite snapshot Datasette reads (Datasette is SQLite only)."""
    path = tmp_path_factory.mktemp("browse") / "snap.db"
    told = Story(f"sqlite:///{path}")
    told.play()
    told.facts["path"] = path
    return told


def _get(datasette: Any, path: str) -> httpx.Response:
    async def fetch() -> httpx.Response:
        await datasette.invoke_startup()
        return await datasette.client.get(path)

    return asyncio.run(fetch())


def _query(story: Story, name: str, **params: str) -> list[dict[str, Any]]:
    datasette = make_datasette(story.facts["path"])
    response = _get(datasette, f"/snap/{name}.json?_shape=array&" + httpx.QueryParams(params).__str__())
    assert response.status_code == 200, response.text[:500]
    rows: list[dict[str, Any]] = response.json()
    return rows


def _between_runs(story: Story) -> str:
    """A moment after the first run and before the second (the clock moved 6 hours in between)."""
    return (story.facts["first_run_at"] + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_every_table_and_view_has_a_title_and_a_description(story):
    engine = create_engine(story.url, poolclass=NullPool)
    names = set(inspect(engine).get_table_names()) | set(inspect(engine).get_view_names())
    engine.dispose()
    tables = load_metadata("snap")["databases"]["snap"]["tables"]
    assert names - set(tables) == set(), "describe them in etl/metadata.yaml"
    assert set(tables) - names == set(), "etl/metadata.yaml describes tables that do not exist"
    assert all(t.get("title") and t.get("description") for t in tables.values())


def test_every_canned_query_is_tested_here():
    queries = set(load_metadata()["databases"]["hf_catalog"]["queries"])
    tested = {name for name in globals() if name.startswith("test_canned_")}
    assert {f"test_canned_{q}" for q in queries} == tested


def test_canned_changes_last_run(story):
    rows = _query(story, "changes_last_run")
    model_id, provider = story.facts["dropped"]
    assert {"change": "provider_removed", "model_id": model_id, "provider": provider} in [
        {k: r[k] for k in ("change", "model_id", "provider")} for r in rows
    ]
    last = story.sql("SELECT MAX(run_id) FROM runs")[0][0]
    assert {r["run_id"] for r in rows} == {last}
    assert len(rows) == story.sql("SELECT COUNT(*) FROM catalog_changes WHERE run_id = ?", last)[0][0]


def test_canned_changes_last_7_days(story):
    rows = _query(story, "changes_last_7_days")
    total = story.sql("SELECT COUNT(*) FROM catalog_changes")[0][0]  # every run was in the last 2 days
    assert len(rows) == min(total, 1000) and total > 1000  # Datasette's max_returned_rows, the newest first
    assert rows[0]["run_id"] == 3 and rows[-1]["run_id"] == 1
    model_id, provider = story.facts["priced"]
    prices = [r for r in rows if (r["change"], r["model_id"], r["provider"]) == ("price", model_id, provider)]
    assert len(prices) == 2 and "in=123.0 out=456.0" in prices[0]["after"]  # newest first


def test_canned_change_counts_by_run(story):
    rows = _query(story, "change_counts_by_run")
    expected = story.sql("SELECT run_id, change, COUNT(*) FROM catalog_changes GROUP BY run_id, change")
    assert sorted((r["run_id"], r["change"], r["changes"]) for r in rows) == sorted(expected)
    assert rows[0]["run_id"] == max(r[0] for r in expected)


def test_canned_provider_dropped(story):
    model_id, provider = story.facts["dropped"]
    rows = _query(story, "provider_dropped", provider=provider)
    assert model_id in {r["model_id"] for r in rows}
    assert all(r["status_before"] == "live" for r in rows)
    assert _query(story, "provider_dropped", provider="no-such-provider") == []


def test_canned_price_history(story):
    model_id, provider = story.facts["priced"]
    rows = [r for r in _query(story, "price_history", model_id=model_id) if r["provider"] == provider]
    assert len(rows) == 2
    assert rows[0]["valid_to"] == rows[1]["valid_from"]
    assert (rows[1]["price_input"], rows[1]["price_output"], rows[1]["valid_to"]) == (123.0, 456.0, None)


def test_canned_catalog_as_of(story):
    from etl.db import make_engine
    from etl.queries import export_records

    engine = make_engine(story.url)
    for moment in (_between_runs(story), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")):
        rows = _query(story, "catalog_as_of", as_of=moment)
        exported = {r["id"]: r for r in export_records(engine, moment)}
        assert [r["model_id"] for r in rows] == sorted(exported)  # the same answer as `hfsnap export --as-of`
    engine.dispose()
    then = {r["model_id"]: r for r in _query(story, "catalog_as_of", as_of=_between_runs(story))}
    model_id, provider = story.facts["dropped"]
    assert provider in then[model_id]["live_providers"].split(", ")
    assert provider not in (rows_now := {r["model_id"]: r for r in rows})[model_id]["live_providers"].split(", ")
    assert _query(story, "catalog_as_of", as_of="2000-01-01") == [] and rows_now


def test_canned_providers_by_live_models(story):
    rows = _query(story, "providers_by_live_models")
    live = story.sql("SELECT SUM(json_array_length(providers)) FROM catalog")[0][0]
    assert sum(r["live_models"] for r in rows) == live > 0
    assert [r["live_models"] for r in rows] == sorted((r["live_models"] for r in rows), reverse=True)
    assert {r["provider"] for r in rows} == {p for (p,) in story.sql("SELECT provider FROM providers")}
    assert (
        sum(r["ok_pairs"] for r in rows) == story.sql("SELECT COUNT(*) FROM health_latest WHERE outcome = 'ok'")[0][0]
    )


def test_canned_lost_last_provider(story):
    rows = _query(story, "lost_last_provider")
    model_id, provider = story.facts["lone"]
    assert [(r["model_id"], r["last_provider"], r["change"]) for r in rows] == [
        (model_id, provider, "provider_removed")
    ]


def test_pages_show_the_titles(story):
    datasette = make_datasette(story.facts["path"])
    home = _get(datasette, "/snap")
    assert home.status_code == 200 and "hfsnap snapshot" in home.text and "What changed in the last 7 days" in home.text
    table = _get(datasette, "/snap/provider_offers")
    assert table.status_code == 200 and "Provider offers (prices)" in table.text


def test_the_views_on_every_backend(new_db: Callable[[str], str]):
    told = Story(new_db("views"))
    told.play()
    (model_id, provider), (lone, lone_provider) = told.facts["dropped"], told.facts["lone"]
    last = told.sql("SELECT change, model_id, provider FROM last_run_changes")
    assert ("provider_removed", model_id, provider) in last and ("provider_removed", lone, lone_provider) in last
    # Served by nobody for retire_after_misses runs: its last mapping and its catalog membership end together.
    assert ("removed", lone, None) in last
    assert told.sql("SELECT model_id, last_provider, listed FROM models_lost_last_provider") == [
        (lone, lone_provider, 0)
    ]
    counts = dict(told.sql("SELECT provider, live_models FROM provider_live_models"))
    expected = told.sql(
        "SELECT provider, COUNT(DISTINCT model_id) FROM model_providers p WHERE valid_to IS NULL AND status = 'live' "
        "AND model_id IN (SELECT model_id FROM models WHERE listed = 1) GROUP BY provider"
    )
    assert {p: n for p, n in counts.items() if n} == dict(expected)


@pytest.mark.parametrize(
    "url, says",
    [
        ("postgresql://u:secret@db.example/hf", "SQLite files only"),
        ("sqlite:///{tmp}/missing.db", "no snapshot at"),
        ("sqlite:///{tmp}/empty.db", "schema revision none"),
    ],
)
def test_browse_refuses_what_it_cannot_read_in_one_line(tmp_path, capsys, url, says):
    (tmp_path / "empty.db").write_bytes(b"")
    url = url.format(tmp=tmp_path)
    assert cli_main(["browse", "--db", url]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "secret" not in err
    assert not (tmp_path / "missing.db").exists()  # browse never creates a database


def test_a_snapshot_behind_head_is_refused_with_the_command_that_migrates_it(tmp_path):
    from alembic import command

    from etl.db import alembic_config, make_engine

    url = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    engine.dispose()
    with pytest.raises(UsageError, match=f"revision 0004, this hfsnap reads {head()} .*hfsnap db upgrade --db"):
        snapshot_path(url)
