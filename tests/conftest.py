"""Shared fixtures: a fake hub (in-process WSGI), a config pointing at it, a migrated database, a fixed clock.

Databases are SQLite files, and also PostgreSQL ones when HFSNAP_TEST_PG_URL names a server (`.ci/pg-server
start` runs one): a module marked `both_backends` runs each test that takes a database on both.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from etl.config import Config, HistoryConfig, HubConfig
from etl.fakehub import generate_catalog, make_app
from etl.hub import HubClient
from etl.pipeline import Clock, RunReport, run_once
from etl.scd2 import SCD2_TABLES

BASE = "http://hub.test"
TOKEN = "hf_testTOKENvalue0123456789"
PG_ENV = "HFSNAP_TEST_PG_URL"
NO_PG = f"{PG_ENV} not set: no PostgreSQL server"
BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_backends: each test that takes a database runs on SQLite and on PostgreSQL"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(PG_ENV)
    return f"PostgreSQL: {url}" if url else f"PostgreSQL: skipped ({NO_PG})"


class StepClock(Clock):
    """A clock that moves one hour per reading, so every run has a distinct, known time."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self.t = start
        super().__init__(self._tick)

    def _tick(self) -> datetime:
        self.t += timedelta(hours=1)
        return self.t


def make_config(db: Path | str, **history: Any) -> Config:
    """A config for the fake hub; `db` is a SQLite path or a database URL."""
    base = Config()
    hub = HubConfig(endpoint=BASE, router=BASE, page_size=1000, concurrency=2, timeout_s=5, max_retries=2)
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    return dataclasses.replace(base, hub=hub, history=HistoryConfig(**history) if history else HistoryConfig()).with_db(
        url
    )


def _bind_params(query: str, params: tuple[Any, ...]) -> tuple[str, dict[str, Any]]:
    """`?` placeholders -> numbered binds for text(); other colons are literal."""
    counter = itertools.count()
    query = re.sub(r"\?", lambda _m: f":p{next(counter)}", query.replace(":", "\\:"))
    return query, {f"p{i}": v for i, v in enumerate(params)}


def run_sql(engine: Engine, query: str, *params: Any) -> list[tuple]:
    """One statement with `?` placeholders on either backend, committed; rows as tuples."""
    sql, binds = _bind_params(query, params)
    with engine.begin() as conn:
        result = conn.execute(text(sql), binds)
        return [tuple(r) for r in result] if result.returns_rows else []


class PgServer:
    """The server of HFSNAP_TEST_PG_URL: hands out fresh, empty databases and drops them after the test."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.names = (f"hfsnap_test_{os.getpid()}_{n}" for n in itertools.count())

    def check(self) -> None:
        try:
            with self.admin.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # a named server that does not answer is a failure, never a skip
            pytest.fail(
                f"{PG_ENV}={self.url.render_as_string()}: cannot connect: {' '.join(str(exc).split())}", pytrace=False
            )

    def create(self) -> str:
        name = next(self.names)
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | None]:
    url = os.environ.get(PG_ENV)
    if not url:
        yield None
        return
    server = PgServer(url)
    server.check()
    yield server
    server.admin.dispose()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """ "sqlite" unless the test's module is marked both_backends (then each in turn)."""
    name = getattr(request, "param", "sqlite")
    if name == "postgresql" and not os.environ.get(PG_ENV):
        pytest.skip(NO_PG)
    return name


@pytest.fixture
def pg_url(pg_server: PgServer | None) -> Iterator[str]:
    """A fresh PostgreSQL database, for tests that only make sense there."""
    if pg_server is None:
        pytest.skip(NO_PG)
    url = pg_server.create()
    yield url
    pg_server.drop(url)


@pytest.fixture
def new_db(backend: str, tmp_path: Path, pg_server: PgServer | None) -> Iterator[Callable[[str], str]]:
    """new_db(name) -> the URL of a fresh, empty database of this test's backend."""
    made: list[str] = []

    def factory(name: str = "hf") -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.db')}"
        assert pg_server is not None
        made.append(pg_server.create())
        return made[-1]

    yield factory
    for url in made:
        assert pg_server is not None
        pg_server.drop(url)


@pytest.fixture
def db_url(new_db: Callable[[str], str]) -> str:
    return new_db("hf")


class Harness:
    """A fake hub, a database and a clock; `refresh()` runs the real pipeline against them."""

    def __init__(
        self,
        tmp_path: Path,
        models: int = 300,
        seed: int = 1,
        mode: str = "cursor",
        url: str | None = None,
        **app_kw: Any,
    ) -> None:
        self.catalog = generate_catalog(models, seed=seed)
        self.app = make_app(self.catalog, mode=mode, **app_kw)
        self.db: Path | None = tmp_path / "hf.db" if url is None else None  # the SQLite file, if it is one
        self.url = url or f"sqlite:///{self.db}"
        self.config = make_config(self.url)
        self.clock = StepClock()
        self.sleeps: list[float] = []
        self._engine: Engine | None = None

    @property
    def backend(self) -> str:
        return make_url(self.url).get_backend_name()

    def refresh(self, config: Config | None = None) -> RunReport:
        config = config or self.config
        with self.client(config) as client:
            return run_once(config, client, clock=self.clock)

    def client(self, config: Config | None = None) -> HubClient:
        """A Hub client that reaches this fake hub in-process and records its sleeps instead of sleeping."""
        hub = (config or self.config).hub
        return HubClient(hub, token=TOKEN, transport=httpx.WSGITransport(app=self.app), sleep=self.sleeps.append)

    def sql(self, query: str, *params: Any) -> list[tuple]:
        """A statement with `?` placeholders, on whichever backend this harness uses."""
        if self._engine is None:
            self._engine = create_engine(self.url, poolclass=NullPool)
        return run_sql(self._engine, query, *params)

    def one(self, query: str, *params: Any) -> Any:
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None

    def scd2_counts(self) -> dict[str, int]:
        return {t: self.one(f"SELECT COUNT(*) FROM {t}") for t in SCD2_TABLES}

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        close = getattr(self.app, "close", None)
        if close:
            close()


@pytest.fixture
def harness(tmp_path: Path, backend: str, new_db: Callable[[str], str]) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def factory(**kw: Any) -> Harness:
        where = tmp_path / f"h{len(made)}"
        where.mkdir()
        h = Harness(where, url=None if backend == "sqlite" else new_db(f"h{len(made)}"), **kw)
        made.append(h)
        return h

    yield factory
    for h in made:
        h.close()
