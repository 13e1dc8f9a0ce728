"""Shared fixtures: a fake hub (in-process WSGI), a config pointing at it, a migrated SQLite file, a fixed clock."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from etl.config import Config, HistoryConfig, HubConfig
from etl.fakehub import generate_catalog, make_app
from etl.pipeline import Clock, RunReport, run_once

BASE = "http://hub.test"
TOKEN = "hf_testTOKENvalue0123456789"


class StepClock(Clock):
    """A clock that moves one hour per reading, so every run has a distinct, known time."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)) -> None:
        self.t = start
        super().__init__(self._tick)

    def _tick(self) -> datetime:
        self.t += timedelta(hours=1)
        return self.t


def make_config(db_path: Path, **history: Any) -> Config:
    base = Config()
    hub = HubConfig(endpoint=BASE, router=BASE, page_size=1000, concurrency=2, timeout_s=5, max_retries=2)
    return dataclasses.replace(base, hub=hub, history=HistoryConfig(**history) if history else HistoryConfig()).with_db(f"sqlite:///{db_path}")


class Harness:
    """A fake hub, a database and a clock; `refresh()` runs the real pipeline against them."""

    def __init__(self, tmp_path: Path, models: int = 300, seed: int = 1, mode: str = "cursor", **app_kw: Any) -> None:
        self.catalog = generate_catalog(models, seed=seed)
        self.app = make_app(self.catalog, mode=mode, **app_kw)
        self.db = tmp_path / "hf.db"
        self.config = make_config(self.db)
        self.clock = StepClock()
        self.sleeps: list[float] = []

    def refresh(self, config: Config | None = None) -> RunReport:
        return run_once(
            config or self.config,
            transport=httpx.WSGITransport(app=self.app),
            clock=self.clock,
            sleep=self.sleeps.append,
            token=TOKEN,
        )

    def sql(self, query: str, *params: Any) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(query, params).fetchall()

    def one(self, query: str, *params: Any) -> Any:
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None

    def scd2_counts(self) -> dict[str, int]:
        tables = ("model_versions", "model_providers", "provider_offers", "gating_history", "catalog_membership")
        return {t: self.one(f"SELECT COUNT(*) FROM {t}") for t in tables}


@pytest.fixture
def harness(tmp_path: Path) -> Callable[..., Harness]:
    made: list[Harness] = []

    def factory(**kw: Any) -> Harness:
        where = tmp_path / f"h{len(made)}"
        where.mkdir()
        h = Harness(where, **kw)
        made.append(h)
        return h

    yield factory
    for h in made:
        close = getattr(h.app, "close", None)
        if close:
            close()

