"""Database failures an operator can fix, as one line naming the file or URL and what to do."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .errors import EtlError, LoadError, LockBusy
from .redaction import redact_urls


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another backend, an in-memory database or a URL that does not parse)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def check_sqlite_files(url: str) -> None:
    """Before a write: the database's folder, file, -wal and -shm must be writable; LoadError names the culprit.

    SQLite creates -wal and -shm with the database file's mode, so after a read-only run they stay read-only once
    the file itself is fixed: every one of them is checked, and the message lists them all.
    """
    path = sqlite_path(url)
    if path is None:
        return
    if path.is_dir():
        raise LoadError(f"{path} is a directory, not a database file: point db.url (or --db) at a file")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        ancestor = next((p for p in folder.parents if p.exists()), Path("/"))
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise LoadError(f"cannot create folder {folder} for {path}: {ancestor} is not writable")
        return
    if not os.access(folder, os.W_OK | os.X_OK):
        raise LoadError(
            f"folder {folder} is not writable: hfsnap keeps {path.name}-wal, {path.name}-shm and {path.name}.lock "
            f"beside {path}; make the folder writable (chmod u+w {folder})"
        )
    siblings = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    stuck = [str(p) for p in siblings if p.exists() and not os.access(p, os.R_OK | os.W_OK)]
    if stuck:
        raise LoadError(
            f"{', '.join(stuck)} {'is' if len(stuck) == 1 else 'are'} read-only: "
            f"chmod u+rw {' '.join(str(p) for p in siblings if p.exists())} "
            "(a -wal/-shm left by an earlier run keeps the database's old mode)"
        )


def database_error(exc: SQLAlchemyError, where: str) -> EtlError:
    """A driver error as the one line an operator can act on; `where` is the file or URL (no password)."""
    orig = getattr(exc, "orig", None) or exc
    message = redact_urls(" ".join(str(orig).split()) or type(orig).__name__)
    low = message.lower()
    if "database is locked" in low or "database table is locked" in low:
        return LockBusy(
            f"{where} is locked by another process (waited for its write lock): retry later; "
            "`fuser` on the file names the holder"
        )
    if "readonly database" in low or "read-only" in low:
        return LoadError(f"{where} is read-only: make the file, its -wal/-shm and its folder writable")
    if "disk is full" in low or "no space left" in low or "disk full" in low:
        return LoadError(f"{where}: the disk is full: free space on its filesystem and run again ({message})")
    if "disk i/o error" in low:
        return LoadError(f"{where}: disk I/O error (a full or failing disk, or a file size limit?): {message}")
    if "unable to open database file" in low:
        return LoadError(f"cannot open {where}: its folder must exist and be writable")
    if "connection" in low and ("refused" in low or "failed" in low or "could not" in low or "timeout" in low):
        return LoadError(f"cannot connect to {where}: {message}; is the server running and the URL right?")
    return LoadError(f"database error on {where}: {message}")
