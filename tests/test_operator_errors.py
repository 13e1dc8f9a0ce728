"""Operator mistakes end in one line naming the file, URL or key and what to do; nothing committed is lost."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN, run_sql
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from etl.cli import main as cli_main
from etl.dberrors import database_error
from etl.errors import LockBusy
from etl.fakehub import start_in_thread
from etl.health import health_client, pending_path, run_health

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Paths nobody may write to, root included (chmod for a user; the immutable flag for root)."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: no way to make a file read-only for this process")
    made = []
    try:
        for p in paths:
            if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode != 0:
                pytest.skip(f"running as root on a filesystem without the immutable flag ({p})")
            made.append(p)
        yield
    finally:
        for p in made:
            subprocess.run(["chattr", "-i", str(p)], check=True)


def _refresh_cli(h: Any, capsys: Any) -> tuple[int, str]:
    code = cli_main(["refresh", "--db", h.url])
    return code, capsys.readouterr().err


@pytest.fixture
def loaded(harness) -> Any:
    h = harness()
    assert h.refresh().status == "complete"
    return h


def _one_line(err: str) -> str:
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


def test_read_only_database_file(loaded, capsys):
    models = loaded.one("SELECT COUNT(*) FROM models")
    with read_only(loaded.db):
        code, err = _refresh_cli(loaded, capsys)
    assert code == 1
    assert _one_line(err) == (
        f"hfsnap refresh: {loaded.db} is read-only: chmod u+rw {loaded.db} (a -wal/-shm left by an earlier run "
        "keeps the database's old mode)"
    )
    assert loaded.one("SELECT COUNT(*) FROM models") == models
    assert loaded.refresh().status == "complete"  # mode fixed: the next run works


def test_leftover_wal_and_shm_are_named(loaded, capsys):
    wal, shm = (loaded.db.with_name(loaded.db.name + s) for s in ("-wal", "-shm"))
    wal.touch()
    shm.touch()
    with read_only(wal, shm):
        code, err = _refresh_cli(loaded, capsys)
    assert code == 1 and _one_line(err).startswith(f"hfsnap refresh: {wal}, {shm} are read-only: chmod u+rw ")
    assert loaded.refresh().status == "complete"


def test_read_only_folder(loaded, capsys):
    with read_only(loaded.db.parent):
        code, err = _refresh_cli(loaded, capsys)
    assert code == 1
    assert _one_line(err).startswith(f"hfsnap refresh: folder {loaded.db.parent} is not writable: ")


def test_database_path_that_is_a_folder(tmp_path, capsys):
    assert cli_main(["refresh", "--db", f"sqlite:///{tmp_path}"]) == 1
    assert _one_line(capsys.readouterr().err) == (
        f"hfsnap refresh: {tmp_path} is a directory, not a database file: point db.url (or --db) at a file"
    )


@pytest.mark.parametrize("kind", ["not-utf8", "directory"])
def test_config_that_cannot_be_read_is_exit_2(kind, tmp_path, capsys):
    path = tmp_path / "config.toml"
    if kind == "directory":
        path.mkdir()
        expected = f"hfsnap status: config file {path} is a directory: pass a config.toml file"
    else:
        path.write_bytes('[db]\nurl = "sqlite:///caf\xe9.db"\n'.encode("latin-1"))
        expected = f"hfsnap status: config file {path} is not UTF-8 text (byte 25): save it as UTF-8"
    assert cli_main(["status", "--config", str(path)]) == 2
    assert _one_line(capsys.readouterr().err) == expected


def test_postgresql_down_is_one_line_without_the_password(tmp_path, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert cli_main(["refresh", "--db", f"postgresql://hfsnap:s3cret@127.0.0.1:{port}/hf"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"hfsnap refresh: cannot connect to postgresql+psycopg://hfsnap:***@127.0.0.1:{port}/hf: ")
    assert line.endswith("is the server running and the URL right?") and "s3cret" not in line


def test_write_lock_held_elsewhere_is_lockbusy_naming_the_file(tmp_path):
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2}, poolclass=NullPool)
    try:
        with pytest.raises(OperationalError) as caught, engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    finally:
        holder.close()
        engine.dispose()
    error = database_error(caught.value, str(path))
    assert isinstance(error, LockBusy) and error.exit_code == 75
    assert str(error).startswith(f"{path} is locked by another process (waited for its write lock): retry later")


def test_refresh_waits_for_a_write_lock_held_briefly(loaded):
    holder = sqlite3.connect(loaded.db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(2.0, holder.close).start()
    assert loaded.refresh().status == "complete"


def _env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFSNAP_"))}
    env.update(
        HF_ENDPOINT=url,
        HFSNAP_ROUTER_URL=url,
        HF_TOKEN=TOKEN,
        HF_HOME=str(tmp_path / "hfhome"),
        HFSNAP_CONFIG=str(ROOT / "config.toml"),
        **extra,
    )
    return env


@pytest.fixture
def served(loaded) -> Iterator[tuple[Any, str]]:
    url, stop = start_in_thread(loaded.app)
    yield loaded, url
    stop()


def test_full_disk_is_one_line_and_keeps_the_previous_runs(served, tmp_path):
    h, url = served
    before = h.sql("SELECT run_id, status FROM runs")

    def small_files() -> None:  # the run may grow no file past 32 kB: the disk is full for it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (32768, 32768))

    out = subprocess.run(
        [sys.executable, "-m", "etl", "refresh", "--db", h.url],
        env=_env(url, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_files,
    )
    assert out.returncode == 1
    assert _one_line(out.stderr).startswith(f"hfsnap refresh: {h.url}: disk I/O error (a full or failing disk")
    assert h.sql("SELECT run_id, status FROM runs WHERE run_id <= ?", before[-1][0]) == before
    with sqlite3.connect(h.db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_sigterm_marks_the_run_failed_and_exits_143(served, tmp_path):
    h, url = served
    h.app.latency_ms = 300  # a run long enough to be stopped in the middle
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl", "refresh", "--db", h.url],
        env=_env(url, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = create_engine(h.url, poolclass=NullPool)
    try:
        for _ in range(200):
            if run_sql(engine, "SELECT COUNT(*) FROM runs WHERE status = 'running'")[0][0]:
                break
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        status, error = run_sql(engine, "SELECT status, error FROM runs ORDER BY run_id DESC LIMIT 1")[0]
    finally:
        engine.dispose()
        proc.kill()
    assert proc.returncode == 143
    assert _one_line(err).endswith("hfsnap: hfsnap refresh: stopped by SIGTERM")
    assert (status, error) == ("failed", "interrupted by SIGTERM")
    assert h.refresh().status == "complete"


def _probes(h: Any) -> int:
    return h.app.stats.by_path["/v1/chat/completions"]


def test_health_during_a_refresh_saves_every_billed_probe(served, tmp_path):
    h, url = served
    proc = subprocess.Popen(  # holds the write lock until it commits, HFSNAP_PAUSE_BEFORE_COMMIT seconds later
        [sys.executable, "-m", "etl", "refresh", "--db", h.url],
        env=_env(url, tmp_path, HFSNAP_PAUSE_BEFORE_COMMIT="4"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "pausing" in line:
            break
    import dataclasses

    config = dataclasses.replace(h.config, hub=dataclasses.replace(h.config.hub, endpoint=url, router=url))
    with health_client(config, token=TOKEN) as client:
        result = run_health(config, client, limit=5)
    assert proc.wait(timeout=60) == 0
    assert result.exit_code == 0 and result.error is None and result.probed == 5
    assert h.one("SELECT COUNT(*) FROM health_checks WHERE outcome <> 'unsupported'") == 5 == _probes(h)


def test_health_keeps_its_results_while_the_lock_stays_held_and_saves_them_next_time(loaded, tmp_path):
    import httpx

    holder = sqlite3.connect(loaded.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with health_client(loaded.config, token=TOKEN, transport=httpx.WSGITransport(app=loaded.app)) as client:
            result = run_health(loaded.config, client, limit=4, save_wait_s=1.0)
    finally:
        holder.close()
    path = pending_path(create_engine(loaded.url))
    assert result.exit_code == 75 and result.kept_in == str(path) and path.exists()
    assert "still locked after 1s" in (result.error or "")
    assert loaded.one("SELECT COUNT(*) FROM health_checks") == 0
    kept = len(result.checks)
    with health_client(loaded.config, token=TOKEN, transport=httpx.WSGITransport(app=loaded.app)) as client:
        again = run_health(loaded.config, client, limit=0)
    assert again.exit_code == 0 and not path.exists()
    assert loaded.one("SELECT COUNT(*) FROM health_checks WHERE outcome <> 'unsupported'") == 4 == result.probed
    assert loaded.one("SELECT COUNT(*) FROM health_checks") >= kept


def test_sigterm_during_health_keeps_every_billed_probe(served, tmp_path):
    h, url = served
    h.app.latency_ms = 400  # four probes in flight at a time, 0.4 s each: stopped in the middle
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl", "health", "--db", h.url, "--limit", "40"],
        env=_env(url, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(100):
        if _probes(h) >= 4:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err
    billed = _probes(h)
    assert 4 <= billed < 40
    assert h.one("SELECT COUNT(*) FROM health_checks WHERE outcome <> 'unsupported'") == billed
