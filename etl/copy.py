"""`hfsnap db copy`: a database's whole history into an empty one (SQLite -> PostgreSQL, or any other way round).

Table by table in dependency order, streamed in batches (memory stays flat however long the history), in one
target transaction: a copy that fails leaves the target empty, ready for another try. Ids are copied as they
are, so PostgreSQL's sequences are moved past them afterwards. Both databases hold the refresh lock meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from .db import (
    bulk_insert,
    current,
    describe,
    head,
    make_engine,
    parse_url,
    read_snapshot,
    reset_sequence,
    upgrade,
)
from .errors import LoadError, UsageError, one_line
from .lock import refresh_lock
from .schema import metadata

BATCH = 5000


def copy_database(
    source_url: str, target_url: str, batch: int = BATCH, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every table of the source into the empty target; returns rows copied per table."""
    _refuse_same(source_url, target_url)
    source, target = make_engine(source_url), make_engine(target_url)
    try:
        _check_source(source, source_url)
        upgrade(target)
        with ExitStack() as locks:
            locks.enter_context(refresh_lock(source))
            locks.enter_context(refresh_lock(target))
            return _copy_all(source, target, batch, progress or (lambda _t, _n: None))
    finally:
        source.dispose()
        target.dispose()


def _refuse_same(source_url: str, target_url: str) -> None:
    source, target = parse_url(source_url), parse_url(target_url)
    if source.get_backend_name() == target.get_backend_name() == "sqlite":
        same = Path(source.database or "").resolve() == Path(target.database or "").resolve()
    else:
        same = source.render_as_string(hide_password=True) == target.render_as_string(hide_password=True)
    if same:
        raise UsageError("--from and --to are the same database")


def _check_source(source: Engine, url: str) -> None:
    """The source must exist and be at this hfsnap's schema (it is only read, never migrated)."""
    database = source.url.database
    if source.dialect.name == "sqlite" and (not database or database == ":memory:" or not Path(database).is_file()):
        raise UsageError(f"--from: no such SQLite file: {database or url!r}")
    try:
        revision = current(source)
    except OperationalError as exc:
        raise LoadError(f"cannot open database {describe(source)}: {one_line(exc.orig or exc)}") from None
    if revision is None:
        raise UsageError(f"--from: {describe(source)} holds no hfsnap history")
    if revision != head():
        raise UsageError(
            f"--from: {describe(source)} is at schema revision {revision}, not {head()}: "
            f"run `hfsnap db upgrade --db URL` on it first"
        )


def _copy_all(source: Engine, target: Engine, batch: int, progress: Callable[[str, int], None]) -> dict[str, int]:
    copied: dict[str, int] = {}
    with source.connect() as src, target.begin() as dst:
        read_snapshot(src)
        _refuse_non_empty(dst)
        for table in metadata.sorted_tables:  # parents before children (runs before run_sources)
            try:
                copied[table.name] = _copy_table(src, dst, table, batch)
                reset_sequence(dst, table)
            except (SQLAlchemyError, target.dialect.loaded_dbapi.Error) as exc:  # COPY raises the driver's own errors
                cause = getattr(exc, "orig", None) or exc
                raise LoadError(
                    f"copying table {table.name} failed, the target is left empty: {one_line(cause)[:500]}"
                ) from None
            progress(table.name, copied[table.name])
    return copied


def _refuse_non_empty(dst: Connection) -> None:
    for table in metadata.sorted_tables:
        if dst.execute(select(text("1")).select_from(table).limit(1)).first():
            raise UsageError(
                f"--to: {describe(dst.engine)} is not empty (table {table.name} has rows); "
                f"copy into a new, empty database"
            )


def _copy_table(src: Connection, dst: Connection, table: Table, batch: int) -> int:
    query = select(table).order_by(*table.primary_key.columns)
    rows = src.execute(
        query, execution_options={"yield_per": batch}
    )  # per statement: Connection.execution_options() would stick
    total = 0
    for part in rows.partitions():
        bulk_insert(dst, table, part)
        total += len(part)
    return total
