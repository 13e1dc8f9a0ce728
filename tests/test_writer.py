"""The writer thread (order, results, failures, cancel) and the loader's staging round trip through it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine

from etl.config import HistoryConfig
from etl.load import Loader
from etl.scd2 import At
from etl.writer import Cancelled, Writer


def test_jobs_run_in_order_on_one_other_thread() -> None:
    writer = Writer()
    seen: list[tuple[int, str]] = []
    futures = [writer.submit(lambda i=i: seen.append((i, threading.current_thread().name)) or i * i) for i in range(20)]
    assert writer.submit(len, seen).result() == 20  # queued after the twenty: they are all done
    writer.close()
    assert [f.result() for f in futures] == [i * i for i in range(20)]
    assert [i for i, _ in seen] == list(range(20))
    assert {name for _, name in seen} == {"db-writer"}


def test_a_failure_reaches_later_submits_and_close() -> None:
    writer = Writer()
    failed = writer.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failed.result()
    with pytest.raises(ZeroDivisionError):
        writer.submit(print, "never runs")
    with pytest.raises(ZeroDivisionError):
        writer.close()


def test_cancel_skips_queued_jobs_and_raises_nothing() -> None:
    writer = Writer(depth=4)
    gate = threading.Event()
    ran: list[int] = []
    writer.submit(gate.wait)
    queued = [writer.submit(ran.append, i) for i in range(3)]
    closer = threading.Thread(target=writer.close, kwargs={"cancel": True})
    closer.start()
    gate.set()
    closer.join(timeout=10)
    assert not closer.is_alive()
    assert ran == []
    for future in queued:
        with pytest.raises(Cancelled):
            future.result()


@pytest.mark.parametrize("threaded", [False, True])
def test_staged_values_round_trip_exactly(tmp_path: Path, threaded: bool) -> None:
    """SQLite staging goes through one JSON text and json_each: quotes, escapes, unicode, big ints, floats, NULLs."""
    rows = [
        ('a"b\\c/é😀\n\t', None, 1.5e-7, 2**62, '{"x": [1, 2]}', "", 0.1),
        ("plain", 0, -3.0, -(2**63), "[]", "0", 1e300),
    ]
    engine = create_engine(f"sqlite:///{tmp_path / 'rt.db'}")
    writer = Writer() if threaded else None
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE t (a TEXT, b INTEGER, c FLOAT, d BIGINT, e TEXT, f TEXT, g FLOAT)")
        table = sa.Table("t", sa.MetaData(), *(sa.Column(c) for c in "abcdefg"))
        loader = Loader(conn, At(1, "2026-11-23T00:00:00Z"), HistoryConfig(), writer, staging_mode="json")
        loader._do(loader._insert, table, rows)
        if writer is not None:
            writer.close()
        got = conn.exec_driver_sql("SELECT * FROM t ORDER BY rowid").fetchall()
    assert [tuple(r) for r in got] == rows
    assert [type(v) for v in got[1]] == [str, int, float, int, str, str, float]
