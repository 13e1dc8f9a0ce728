"""The migrations build exactly schema.py, and the database meets the contract of SPEC section 5."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from etl.db import current, make_engine, upgrade
from etl.schema import metadata

CHECKER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_contract.py"


def test_migrations_match_schema_py(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert current(engine) == "0002"


def test_upgrade_is_idempotent(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine)
    upgrade(engine)
    assert current(engine) == "0002"


def test_contract_checker_accepts_a_fresh_database(tmp_path):
    if not CHECKER.exists():
        pytest.skip(f"contract checker not beside the repo ({CHECKER})")
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(engine)
    out = subprocess.run([sys.executable, str(CHECKER), str(tmp_path / "m.db")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    assert "15/15" in out.stdout
