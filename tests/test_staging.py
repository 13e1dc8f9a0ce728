"""Staging rows reach the database whole (multi-row INSERTs on SQLite, COPY on PostgreSQL); opens go in key order."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import text

from etl import db
from etl.db import make_engine, stage_rows

pytestmark = pytest.mark.both_backends

ROWS: list[tuple[Any, ...]] = [
    (f"org/model-{i:03d}", i % 2, None if i % 5 == 0 else i * 1_000_003, 0.1 * i, 'it\'s \u00e9 "quoted"', 2**62 + i)
    for i in range(101)
]
COLUMNS = ("model_id", "flag", "downloads", "score", "note", "big")


def _stage_and_read(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(
                "CREATE TEMPORARY TABLE stage_t (model_id VARCHAR(255), flag SMALLINT, downloads BIGINT, "
                "score DOUBLE PRECISION, note TEXT, big BIGINT)"
            )
            if conn.dialect.name == "sqlite":  # few variables per statement: the rows must be split to fit
                dbapi = conn.connection.driver_connection
                assert isinstance(dbapi, sqlite3.Connection)
                dbapi.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40)
            stage_rows(conn, "stage_t", COLUMNS, ROWS[:60])
            stage_rows(conn, "stage_t", COLUMNS, ROWS[60:])
            stage_rows(conn, "stage_t", COLUMNS, [])
            return [tuple(r) for r in conn.execute(text("SELECT * FROM stage_t ORDER BY model_id"))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("per_insert", [db.SQLITE_ROWS_PER_INSERT, 7, 1])
def test_staged_rows_come_back_exactly(db_url, monkeypatch, per_insert):
    """Whatever the rows per statement (1 is plain executemany) and the backend's variable limit: every row, once."""
    monkeypatch.setattr(db, "SQLITE_ROWS_PER_INSERT", per_insert)
    assert _stage_and_read(db_url) == ROWS


def test_a_first_refresh_opens_versions_in_key_order_and_leaves_no_key_table(harness):
    h = harness(models=200)
    assert h.refresh().status == "complete"
    for table, order in (("model_versions", "version_id"), ("model_providers", "mapping_id")):
        by_insert = h.sql(f"SELECT model_id FROM {table} ORDER BY {order}")
        assert by_insert == h.sql(f"SELECT model_id FROM {table} ORDER BY model_id, {order}")
        assert len(by_insert) > 100
    h.catalog.update(sorted(h.catalog.served_ids())[0], gated="manual")
    assert h.refresh().counts.models_changed == 1  # the temporary key table of the first run is gone
