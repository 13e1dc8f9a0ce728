"""One refresh at a time across processes: flock for SQLite, an advisory lock for PostgreSQL."""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from .errors import LoadError, LockBusy

PG_LOCK_KEY = 0x68667370  # "hfsp": the advisory lock every hfsnap refresh takes


def lock_path(engine: Engine) -> Path:
    """`<db file>.lock` beside a SQLite file; a temp-dir file keyed by URL otherwise."""
    db = engine.url.database
    if engine.dialect.name == "sqlite" and db and db != ":memory:":
        return Path(db).with_name(Path(db).name + ".lock")
    digest = hashlib.sha1(engine.url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"hfsnap-{digest}.lock"


@contextmanager
def refresh_lock(engine: Engine) -> Iterator[None]:
    """Hold the refresh lock or raise LockBusy at once. The OS drops it when a process dies: never stale."""
    if engine.dialect.name == "postgresql":
        with _pg_lock(engine):
            yield
        return
    path = lock_path(engine)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LoadError(
            f"cannot create the lock file {path}: {exc.strerror or exc}; its folder must be writable"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            raise LockBusy(f"another refresh holds {path} ({holder}); exiting") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _pg_lock(engine: Engine) -> Iterator[None]:
    """A session advisory lock on its own connection: released if the process or connection dies.

    Advisory locks are per database, so two hfsnap databases on one server never block each other. The
    holding connection is named after its process, so the loser can say who holds the lock.
    """
    conn = engine.connect()
    try:
        me = f"hfsnap refresh: pid {os.getpid()} on {socket.gethostname()}"
        conn.execute(text("SELECT set_config('application_name', :me, false)"), {"me": me[:63]})
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
        conn.commit()
        if not got:
            raise LockBusy(
                f"another refresh holds the advisory lock of {engine.url.render_as_string(hide_password=True)} "
                f"({_pg_holder(conn)}); exiting"
            )
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                conn.execute(text("RESET application_name"))
                conn.commit()
            except SQLAlchemyError:
                conn.invalidate()  # the connection is gone, and the lock with it
    finally:
        conn.close()


def _pg_holder(conn: Connection) -> str:
    """Who holds PG_LOCK_KEY in this database: the name its connection took, else its backend pid."""
    row = conn.execute(
        text(
            """SELECT a.pid, a.application_name, a.client_addr, a.backend_start FROM pg_locks l
               JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.locktype = 'advisory' AND l.granted
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND l.classid::bigint = 0 AND l.objid::bigint = :k AND l.objsubid = 1"""
        ),
        {"k": PG_LOCK_KEY},
    ).first()
    conn.rollback()
    if row is None:
        return "unknown"
    pid, name, addr, _started = row
    name = name.removeprefix("hfsnap refresh: ") if name and name.startswith("hfsnap refresh: ") else None
    return name or f"server backend {pid}" + (f" from {addr}" if addr else "")
