"""What only PostgreSQL has: the advisory refresh lock, concurrent first migrations, bare postgresql:// URLs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from etl.db import current, head, make_engine, parse_url, upgrade
from etl.errors import LockBusy
from etl.lock import refresh_lock

ROOT = Path(__file__).resolve().parent.parent
HOLDER = """
import sys, time
from etl.db import make_engine
from etl.lock import refresh_lock
with refresh_lock(make_engine(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(pg_url: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the refresh lock of pg_url until killed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, pg_url], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.postgres
def test_second_refresh_exits_75_naming_the_holder(holder: subprocess.Popen[str], pg_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFSNAP_"))}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "etl", "refresh", "--db", pg_url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "HF_ENDPOINT": "http://127.0.0.1:9", "HFSNAP_ROUTER_URL": "http://127.0.0.1:9"},
    )
    assert done.returncode == 75, done.stderr
    assert time.monotonic() - started < 20
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("hfsnap refresh: another refresh holds the advisory lock of postgresql+psycopg://")
    assert f"(pid {holder.pid} on " in last


@pytest.mark.postgres
def test_lock_of_a_killed_holder_is_free_soon(holder: subprocess.Popen[str], pg_url: str) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    engine = make_engine(pg_url)
    deadline = time.monotonic() + 10  # the server frees it when it sees the socket close
    while True:
        try:
            with refresh_lock(engine):
                break
        except LockBusy:
            assert time.monotonic() < deadline, "the dead holder's advisory lock was never released"
            time.sleep(0.05)
    engine.dispose()


@pytest.mark.postgres
def test_the_lock_is_per_database(holder: subprocess.Popen[str], pg_server: Any) -> None:
    other = pg_server.create()
    engine = make_engine(other)
    try:
        with refresh_lock(engine):
            pass  # another hfsnap database on the same server is not blocked
    finally:
        engine.dispose()
        pg_server.drop(other)


@pytest.mark.postgres
def test_concurrent_first_upgrades_take_turns(pg_url: str) -> None:
    errors: list[BaseException] = []

    def migrate() -> None:
        engine = make_engine(pg_url)
        try:
            upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    engine = make_engine(pg_url)
    assert current(engine) == head()
    engine.dispose()


@pytest.mark.parametrize("url", ["postgresql://u:p@db.example/hf", "postgres://u:p@db.example/hf"])
def test_a_bare_postgresql_url_uses_psycopg_3(url: str) -> None:
    parsed = parse_url(url)
    assert parsed.drivername == "postgresql+psycopg"
    assert make_url(url).database == parsed.database == "hf"
    assert make_engine(url).dialect.driver == "psycopg"
