"""The command line end to end: a real loopback fake hub, real processes, one-line errors and exit codes.

Tests that take `db_url` run on SQLite and on PostgreSQL (HFSNAP_TEST_PG_URL).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_sql
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from etl.cli import main as cli_main
from etl.db import head
from etl.demo import start_fake_hub

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_backends


@pytest.fixture(scope="module")
def hub_url():
    proc, url = start_fake_hub(models=400, latency_ms=0, seed=5)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFSNAP_"))}
    env.update(
        HF_ENDPOINT=url,
        HFSNAP_ROUTER_URL=url,
        HF_TOKEN="hf_cliTESTtoken",
        HF_HOME=str(tmp_path / "hfhome"),
        HFSNAP_CONFIG=str(ROOT / "config.toml"),
        **extra,
    )
    return env


def _hfsnap(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "etl", *args], env=env, capture_output=True, text=True, timeout=120, **kw
    )


def test_refresh_against_a_separately_started_fake_hub(hub_url, tmp_path, db_url):
    db = db_url
    out = _hfsnap(["refresh", "--db", db, "--json"], _env(hub_url, tmp_path))
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["status"] == "complete" and summary["models_seen"] > 0
    status = _hfsnap(["status", "--db", db, "--json"], _env(hub_url, tmp_path))
    assert json.loads(status.stdout)["counts"]["listed_models"] == summary["models_added"]


def test_unreachable_hub_is_one_line_and_exit_1(tmp_path, db_url):
    env = _env("http://127.0.0.1:9", tmp_path)
    out = _hfsnap(["refresh", "--db", db_url], {**env, "HFSNAP_CONFIG": _fast_config(tmp_path)})
    assert out.returncode == 1, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert "Traceback" not in out.stderr and last.startswith(
        "hfsnap refresh: cannot reach the Hub at 127.0.0.1:9: connection refused"
    )
    assert _rows(db_url, "SELECT status FROM runs") == [("failed",)]


def test_unreachable_database_is_one_line_and_exit_1(tmp_path):
    # Nothing listens on port 9; a bare postgresql:// means psycopg 3.
    url = "postgresql://hfsnap:s3cret@127.0.0.1:9/hfsnap"
    out = _hfsnap(["status", "--db", url], _env("http://127.0.0.1:9", tmp_path))
    assert out.returncode == 1, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr and "s3cret" not in out.stderr
    assert out.stderr.startswith(
        "hfsnap status: cannot open database postgresql+psycopg://hfsnap:***@127.0.0.1:9/hfsnap: "
    )


def test_bad_endpoint_is_a_config_error(tmp_path):
    out = _hfsnap(["refresh", "--db", f"sqlite:///{tmp_path}/c.db"], _env("ftp://nowhere", tmp_path))
    assert out.returncode == 2
    assert out.stderr.strip() == "hfsnap refresh: HF_ENDPOINT: expected an http(s) URL, got 'ftp://nowhere'"


def test_status_diff_export_on_an_empty_database(db_url, capsys):
    db = db_url
    assert cli_main(["db", "upgrade", "--db", db]) == 0  # read commands never migrate (tests/test_read_only.py)
    assert cli_main(["status", "--db", db]) == 0
    assert cli_main(["diff", "--db", db]) == 0
    assert cli_main(["export", "--db", db]) == 0
    assert cli_main(["diff", "--db", db, "--since", "yesterday"]) == 2


def test_db_upgrade_and_current(db_url, capsys):
    assert cli_main(["db", "current", "--db", db_url]) == 0
    assert capsys.readouterr().out.strip().endswith(": revision none")
    assert cli_main(["db", "upgrade", "--db", db_url]) == 0
    assert capsys.readouterr().out.strip().endswith(f": revision {head()}")


def test_sigkill_before_commit_leaves_the_previous_state(hub_url, tmp_path, db_url):
    db = db_url
    env = _env(hub_url, tmp_path)
    assert _hfsnap(["refresh", "--db", db], env).returncode == 0
    before = _snapshot(db)
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl", "refresh", "--db", db],
        env={**env, "HFSNAP_PAUSE_BEFORE_COMMIT": "60"},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "pausing" in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    if db.startswith("sqlite"):
        with sqlite3.connect(make_url(db).database) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    else:
        _wait_for_server_to_drop_the_killed_session(db)
    assert _rows(db, "SELECT status FROM runs ORDER BY run_id") == [("complete",), ("running",)]
    assert _snapshot(db) == before
    again = _hfsnap(["refresh", "--db", db, "--json"], env)
    assert again.returncode == 0, again.stderr
    assert [r[0] for r in _rows(db, "SELECT status FROM runs ORDER BY run_id")] == ["complete", "failed", "complete"]


def _rows(url: str, query: str, *params) -> list[tuple]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return run_sql(engine, query, *params)
    finally:
        engine.dispose()


def _snapshot(url: str) -> dict[str, int]:
    tables = (
        "models",
        "model_versions",
        "model_providers",
        "provider_offers",
        "gating_history",
        "model_metrics",
        "run_sources",
        "catalog_membership",
    )
    return {t: _rows(url, f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables}


def _wait_for_server_to_drop_the_killed_session(url: str) -> None:
    """PostgreSQL rolls back and frees the advisory lock when it sees the dead client's socket close.

    Soon, not at once.
    """
    deadline = time.monotonic() + 20
    while _rows(
        url, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )[0][0]:
        assert time.monotonic() < deadline, "the killed refresh's session is still open"
        time.sleep(0.05)


def _fast_config(tmp_path: Path) -> str:
    path = tmp_path / "fast.toml"
    path.write_text("[hub]\nmax_retries = 1\ntimeout_s = 2\n")
    return str(path)
