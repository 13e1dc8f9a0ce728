"""One refresh at a time across real processes; a killed holder leaves no stale lock and no run stuck `running`."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from etl.db import make_engine
from etl.lock import lock_path, refresh_lock

ROOT = Path(__file__).resolve().parent.parent
HOLDER = """
import sys, time
from etl.db import make_engine
from etl.lock import refresh_lock
with refresh_lock(make_engine(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(120)
"""


def _env(hub_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HFSNAP_CONFIG", "HFSNAP_DB_URL")}
    env.update(HF_ENDPOINT=hub_url, HFSNAP_ROUTER_URL=hub_url, PYTHONPATH=str(ROOT))
    return env


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """Process A: holds the refresh lock of tmp_path/hf.db until killed."""
    url = f"sqlite:///{tmp_path / 'hf.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=_env("http://127.0.0.1:9"),
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc, url
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def silent_hub() -> Iterator[str]:
    """A loopback port that accepts connections and never answers: a refresh there hangs until killed."""
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def test_second_refresh_exits_75_at_once(holder: tuple[subprocess.Popen, str], tmp_path: Path) -> None:
    proc, url = holder
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "etl", "refresh", "--db", url],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env("http://127.0.0.1:9"),
        timeout=60,
    )
    assert done.returncode == 75, done.stderr
    assert time.monotonic() - started < 20  # no waiting for the lock, no request to the Hub
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("hfsnap refresh: another refresh holds") and f"pid {proc.pid}" in last
    with sqlite3.connect(tmp_path / "hf.db") as conn:  # the loser opened no run (nor, perhaps, migrated)
        has_runs = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
        assert not has_runs or conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)


def test_lock_of_a_killed_holder_is_free_at_once(holder: tuple[subprocess.Popen, str]) -> None:
    proc, url = holder
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    engine = make_engine(url)
    assert lock_path(engine).exists()  # the file stays; the flock on it died with the process
    with refresh_lock(engine):
        assert lock_path(engine).read_text() == f"pid {os.getpid()} on {socket.gethostname()}"


def test_run_left_running_by_a_killed_refresh_is_failed_by_the_next(
    tmp_path: Path, silent_hub: str, harness: Callable[..., Any]
) -> None:
    db = tmp_path / "hf.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl", "refresh", "--db", f"sqlite:///{db}"],
        cwd=tmp_path,
        env=_env(silent_hub),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run_id = _wait_for_running_run(db, timeout_s=20)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    h = harness(models=40)
    report = h.refresh(h.config.with_db(f"sqlite:///{db}"))
    assert report.status == "complete" and report.run_id > run_id
    with sqlite3.connect(db) as conn:
        status, error, finished = conn.execute(
            "SELECT status, error, finished_at FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
    assert status == "failed" and "interrupted" in error and finished is not None


def _wait_for_running_run(db: Path, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = None
        if db.exists():  # connecting first would create the file under the refresh's feet
            conn = sqlite3.connect(db)
            try:
                row = conn.execute("SELECT run_id FROM runs WHERE status = 'running'").fetchone()
            except sqlite3.OperationalError:  # not migrated yet
                pass
            finally:
                conn.close()
        if row:
            return int(row[0])
        time.sleep(0.05)
    raise AssertionError("the refresh never opened its run")
