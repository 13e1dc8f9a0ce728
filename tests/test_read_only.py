"""Read commands never write: `status`, `diff`, `export`, `serve`, `db current` and `db backup` create nothing.

For the first four, a missing database, an empty one or one whose schema is behind is one line on stderr and exit 2,
and the database is left exactly as it was (no file, folder, table or revision appears). SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.pool import NullPool

from etl.db import alembic_config, current, head, make_engine

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_backends
HINT = "run hfsnap refresh or hfsnap db upgrade first"
READS = [["status"], ["diff"], ["export"], ["export", "--format", "openrouter"], ["serve", "--port", "0"]]


def _hfsnap(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFSNAP_"))}
    env["HFSNAP_CONFIG"] = str(ROOT / "config.toml")
    return subprocess.run([sys.executable, "-m", "etl", *args], env=env, capture_output=True, text=True, timeout=60)


def _tables(url: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        return sorted(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _assert_one_line_exit_2(out: subprocess.CompletedProcess[str], command: str, *words: str) -> None:
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith(f"hfsnap {command}: ") and HINT in out.stderr
    assert all(w in out.stderr for w in words), out.stderr


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a))
def test_a_missing_sqlite_file_is_exit_2_and_nothing_is_created(tmp_path, args):
    folder = tmp_path / "typo"
    out = _hfsnap([*args, "--db", f"sqlite:///{folder}/x.db"])
    _assert_one_line_exit_2(out, args[0], "no database at", "typo/x.db")
    assert not folder.exists()


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a))
def test_an_empty_database_is_exit_2_and_stays_empty(db_url, args):
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).touch()  # an existing, empty file
    out = _hfsnap([*args, "--db", db_url])
    _assert_one_line_exit_2(out, args[0], "has no hfsnap schema")
    assert _tables(db_url) == []


def _one_migration_behind(url: str) -> tuple[Engine, str]:
    """Migrate `url` to the revision before head; the engine and that revision."""
    engine = make_engine(url)
    cfg = alembic_config(engine)
    behind = ScriptDirectory.from_config(cfg).get_revision(head()).down_revision
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, behind)
    return engine, behind


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a))
def test_a_database_behind_the_schema_is_exit_2_and_is_not_migrated(db_url, args):
    engine, behind = _one_migration_behind(db_url)
    tables = _tables(db_url)
    out = _hfsnap([*args, "--db", db_url])
    _assert_one_line_exit_2(out, args[0], f"is at schema {behind}", f"needs {head()}")
    assert current(engine) == behind and _tables(db_url) == tables
    engine.dispose()


def test_a_migrated_database_reads_and_a_write_is_refused(db_url):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from etl.db import open_existing, upgrade

    upgrade(make_engine(db_url))
    engine = open_existing(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM runs")).scalar() == 0
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text("INSERT INTO providers (provider, first_seen_run, last_seen_run) VALUES ('x', 1, 1)"))
    finally:
        engine.dispose()
    assert _hfsnap(["status", "--db", db_url]).returncode == 0


def test_db_current_reads_without_creating_or_migrating(tmp_path, db_url):
    folder = tmp_path / "typo"
    out = _hfsnap(["db", "current", "--db", f"sqlite:///{folder}/x.db"])
    assert out.returncode == 0 and out.stdout.strip().endswith("typo/x.db: revision none"), out.stderr
    assert not folder.exists()
    engine, behind = _one_migration_behind(db_url)
    out = _hfsnap(["db", "current", "--db", db_url])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(f": revision {behind} (this hfsnap needs {head()}: run hfsnap db upgrade)")
    assert current(engine) == behind
    engine.dispose()


def test_db_backup_of_a_missing_file_is_exit_2_and_creates_nothing(tmp_path):
    out = _hfsnap(["db", "backup", str(tmp_path / "copy.db"), "--db", f"sqlite:///{tmp_path}/typo/x.db"])
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "no database at" in out.stderr, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
