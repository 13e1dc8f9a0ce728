"""Engines, SQLite pragmas and Alembic migrations, for SQLite and PostgreSQL alike.

Where SQLite and PostgreSQL differ, the difference is here (engines, URLs, errors, the migration lock,
sequences, snapshots, bulk inserts), in the migrations that create the views (JSON functions in view SQL) or in
`lock.py` (flock or advisory lock); every other module's SQL is portable.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from functools import cache, lru_cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError, SQLAlchemyError

from .errors import ConfigError, LoadError, UsageError, one_line

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger("hfsnap.db")
PG_MIGRATION_LOCK_KEY = 0x68667375  # "hfsu": concurrent `upgrade`s of one PostgreSQL database take turns


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and its parent folder created."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"connect_args": {"application_name": "hfsnap"}} if parsed.get_backend_name() == "postgresql" else {}
    engine = _create_engine(parsed, kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_existing(url: str) -> Engine:
    """An engine on an existing database at the current schema, for reading only; never creates or migrates.

    A missing SQLite file, an empty database or one whose schema is behind is a UsageError (exit 2); a server
    that cannot be reached is a LoadError (exit 1). SQLite is opened read-only (`mode=ro`), PostgreSQL sessions
    are read-only transactions, so a read command cannot write by mistake.
    """
    shown, hint = describe_url(parse_url(url)), "run hfsnap refresh or hfsnap db upgrade first"
    engine = open_read_only(url)
    if engine is None:
        raise UsageError(f"no database at {shown}: {hint}")
    revision = revision_of(engine, shown)
    if revision != head():
        engine.dispose()
        state = "has no hfsnap schema" if revision is None else f"is at schema {revision}, this hfsnap needs {head()}"
        raise UsageError(f"database {shown} {state}: {hint}")
    return engine


def open_read_only(url: str) -> Engine | None:
    """A read-only engine on `url` at whatever schema it has; None for a SQLite file that does not exist.

    Nothing is created: no folder, no file (SQLite `mode=ro`); PostgreSQL sessions are read-only transactions.
    """
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).is_file():
            return None
        # A URI filename: mode=ro opens without ever creating; WAL readers still see a refresh's commits.
        parsed = parsed.set(database=f"file:{quote(str(Path(path).resolve()))}?mode=ro", query={"uri": "true"})
    else:
        options = "-c default_transaction_read_only=on"
        kwargs["connect_args"] = {"application_name": "hfsnap", "options": options}
    engine = _create_engine(parsed, kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_read_pragmas)
    return engine


def revision_of(engine: Engine, shown: str) -> str | None:
    """The schema revision of a database opened by `open_read_only` (`shown`: its URL for messages).

    An unreachable server or a file that is not a database is a LoadError (exit 1).
    """
    try:
        return current(engine)
    except DatabaseError as exc:  # unreachable server, or a file that is not a database
        engine.dispose()
        raise LoadError(f"cannot open database {shown}: {one_line(exc.orig or exc)}") from None


def describe_url(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _sqlite_read_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")  # belt and braces over mode=ro
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-16384")
    cur.close()


def _create_engine(parsed: URL, kwargs: dict[str, Any]) -> Engine:
    """`create_engine`, with a missing driver as one line naming the key and the extra to install."""
    try:
        return create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(
            f"db.url: no driver for {parsed.drivername!r} ({exc}); for PostgreSQL install hfsnap[postgres]"
        ) from None


def parse_url(url: str) -> URL:
    """`url` parsed; a bare postgresql:// (or postgres://) URL gets psycopg 3, the driver hfsnap[postgres] installs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"db.url: not a database URL: {url!r}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def describe(engine: Engine) -> str:
    """The engine's URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the run, the run never blocks readers
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA temp_store=FILE")  # staging a million models must not live in RAM
    cur.execute("PRAGMA cache_size=-16384")  # 16 MB: the merge is set-wise SQL; RSS stays bounded at any size
    cur.close()


@cache
def migrations_dir() -> str:
    """The Alembic script directory: the installed `etl.migrations` package (a wheel, or the repo's top-level
    `migrations/` through an editable install), else `migrations/` beside the package (a bare checkout)."""
    try:
        found = resources.files("etl.migrations")
    except ModuleNotFoundError:
        found = None
    if isinstance(found, Path) and (found / "env.py").is_file():  # Alembic needs real files, not a zip
        return str(found)
    checkout = Path(__file__).resolve().parent.parent / "migrations"
    if (checkout / "env.py").is_file():
        return str(checkout)
    raise ConfigError(f"the hfsnap installation has no migrations (looked in etl.migrations and {checkout})")


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", migrations_dir())
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest migration (a fresh file gets every table and view)."""
    from alembic import command

    cfg = alembic_config(engine)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # two first runs at once: the second waits, then finds head
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise LoadError(f"cannot open database {describe(engine)}: {one_line(exc.orig or exc)}") from None
    except SQLAlchemyError as exc:
        raise LoadError(f"migrating {describe(engine)} failed: {one_line(exc)}") from None


def current(engine: Engine) -> str | None:
    """The database's Alembic revision (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    """The newest migration's revision: what `upgrade` brings a database to."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory(migrations_dir()).get_current_head())


def reset_sequence(conn: Connection, table: Table) -> None:
    """After rows were inserted with explicit ids: PostgreSQL's sequence must continue past them.

    SQLite needs nothing.
    """
    if conn.dialect.name != "postgresql":
        return
    for column in table.primary_key.columns:
        if column.autoincrement is True:
            top = conn.execute(select(func.max(column))).scalar()
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence(:t, :c), :v, :called)"),
                {"t": table.name, "c": column.name, "v": top or 1, "called": top is not None},
            )


def read_snapshot(conn: Connection) -> None:
    """Make the reads of this (fresh) connection's transaction see one moment of the database."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")  # pysqlite starts no transaction for reads by itself


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Any]) -> None:
    """Rows (tuples in `table`'s column order): COPY on PostgreSQL with psycopg 3, batched INSERTs elsewhere."""
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        copy_rows(conn, table.name, rows, [c.name for c in table.columns])
        return
    names = [c.name for c in table.columns]
    conn.execute(table.insert(), [dict(zip(names, row, strict=False)) for row in rows])


# Rows per INSERT statement when staging into SQLite; 1 means one executemany (the A/B of `python -m bench load`).
SQLITE_ROWS_PER_INSERT = 2000


def stage_rows(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Positional rows into `columns` of a staging table: COPY on PostgreSQL, multi-row INSERTs on SQLite.

    Why not executemany on SQLite: it runs one sqlite3_step per row and releases the GIL around each, so while the
    listing threads parse pages the loading thread waits for the GIL once per row (up to the 5 ms switch interval);
    one multi-row INSERT is one step, whatever the number of rows (measured in `python -m bench load`).
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql":  # COPY: psycopg would re-parse each long VALUES list in Python
        copy_rows(conn, table, rows, columns)
        return
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    one = f"({', '.join('?' * len(columns))})"
    if SQLITE_ROWS_PER_INSERT <= 1:
        conn.exec_driver_sql(head + one, list(map(tuple, rows)))
        return
    dbapi = conn.connection.driver_connection
    limit = dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if dbapi is not None else 999
    per = max(1, min(SQLITE_ROWS_PER_INSERT, limit // len(columns)))
    cursor = conn.connection.cursor()
    for i in range(0, len(rows), per):
        chunk = rows[i : i + per]
        cursor.execute(_values_sql(head, one, len(chunk)), list(chain.from_iterable(chunk)))
    cursor.close()


@lru_cache(maxsize=64)
def _values_sql(head: str, one: str, n: int) -> str:
    return head + ", ".join([one] * n)


def copy_rows(conn: Connection, table: str, rows: Sequence[Any], columns: Sequence[str] | None = None) -> None:
    """PostgreSQL's COPY FROM STDIN through psycopg 3, in the connection's transaction: the fastest way in."""
    quote = conn.dialect.identifier_preparer.quote
    names = f" ({', '.join(quote(c) for c in columns)})" if columns else ""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]  # None only once detached
    with cursor.copy(f"COPY {quote(table)}{names} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(tuple(row))


def prepare_merge(conn: Connection, staged: Sequence[str]) -> None:
    """PostgreSQL: statistics for the freshly filled staging tables and room to hash them.

    Temporary tables are never auto-analyzed; without statistics (and with the default 4 MB work_mem) the
    planner runs `x NOT IN (SELECT ... FROM stage_...)` as a nested scan, O(n^2): hours at 100k models.
    """
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("SET LOCAL work_mem = '128MB'")  # this transaction only
    for table in staged:
        conn.exec_driver_sql(f"ANALYZE {table}")
