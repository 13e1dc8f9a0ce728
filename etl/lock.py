"""One refresh at a time across processes: flock for SQLite, an advisory lock for PostgreSQL."""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, text

from .errors import LockBusy

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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
    """A session advisory lock on its own connection: released if the process or connection dies."""
    conn = engine.connect()
    try:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
        conn.commit()
        if not got:
            raise LockBusy("another refresh holds the PostgreSQL advisory lock; exiting")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
            conn.commit()
    finally:
        conn.close()
