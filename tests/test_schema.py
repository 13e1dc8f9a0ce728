"""The migrations build exactly schema.py, on SQLite and PostgreSQL; the database meets SPEC section 5's contract."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from etl.db import current, head, make_engine, upgrade
from etl.schema import VIEW_NAMES, metadata

CHECKER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_contract.py"
pytestmark = pytest.mark.both_backends


def test_migrations_match_schema_py(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert current(engine) == head()
    assert set(VIEW_NAMES) <= set(inspect(engine).get_view_names())
    engine.dispose()


def test_upgrade_is_idempotent(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)
    assert current(engine) == head()
    engine.dispose()


def test_contract_checker_accepts_a_fresh_database(tmp_path):
    if not CHECKER.exists():
        pytest.skip(f"contract checker not beside the repo ({CHECKER})")
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine)
    out = subprocess.run([sys.executable, str(CHECKER), str(tmp_path / "m.db")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    assert "15/15" in out.stdout


def test_contract_columns_exist_on_every_backend(db_url):
    if not CHECKER.exists():
        pytest.skip(f"contract checker not beside the repo ({CHECKER})")
    spec = importlib.util.spec_from_file_location("check_contract", CHECKER)
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    engine = make_engine(db_url)
    upgrade(engine)
    inspector = inspect(engine)
    missing = {
        name: set(cols.split()) - {c["name"] for c in inspector.get_columns(name)}
        for name, cols in checker.CONTRACT.items()
    }
    engine.dispose()
    assert {name: cols for name, cols in missing.items() if cols} == {}
