"""`hfsnap browse`: Datasette over a SQLite snapshot, read-only, with the shipped metadata.yaml and canned queries."""

from __future__ import annotations

import asyncio
import sqlite3
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .db import head, parse_url
from .errors import UsageError

if TYPE_CHECKING:
    from datasette.app import Datasette

SHIPPED_NAME = "hf_catalog"  # the database key in metadata.yaml: the default file's name
# Canned queries scan whole views; Datasette's default 1 s limit is short for a large catalog on a small machine.
SETTINGS = {"sql_time_limit_ms": 10_000, "facet_time_limit_ms": 1_000}


def load_metadata(db_name: str = SHIPPED_NAME) -> dict[str, Any]:
    """The shipped metadata.yaml, its database entry named `db_name` (Datasette names a database after its file)."""
    import yaml

    meta: dict[str, Any] = yaml.safe_load(resources.files("etl").joinpath("metadata.yaml").read_text(encoding="utf-8"))
    databases = meta["databases"]
    databases[db_name] = databases.pop(SHIPPED_NAME)
    return meta


def snapshot_path(url: str) -> Path:
    """The SQLite file of `url`, which must exist and be migrated to this hfsnap's head (browse never writes)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise UsageError(
            f"Datasette reads SQLite files only, not {parsed.render_as_string(hide_password=True)} "
            "(`hfsnap db copy --from URL --to sqlite:///copy.db` makes one)"
        )
    path = Path(parsed.database)
    if not path.is_file():
        raise UsageError(f"no snapshot at {path} (run `hfsnap refresh --db {url}` first)")
    revision = _revision(path)
    if revision != head():
        raise UsageError(
            f"{path} is at schema revision {revision or 'none'}, this hfsnap reads {head()} "
            f"(`hfsnap db upgrade --db {url}` migrates it)"
        )
    return path


def _revision(path: Path) -> str | None:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:  # no alembic_version table, or not a SQLite file at all
        return None
    finally:
        conn.close()
    return str(row[0]) if row else None


def make_datasette(path: Path) -> Datasette:
    """A Datasette over `path` (opened mode=ro, not immutable: a refresh may commit meanwhile)."""
    try:
        from datasette.app import Datasette
    except ImportError:
        raise UsageError("Datasette is not installed (pip install 'hfsnap[browse]')") from None
    return Datasette([str(path)], metadata=load_metadata(path.stem), settings=SETTINGS)


def browse(url: str, host: str, port: int) -> int:
    """Serve the snapshot until interrupted."""
    path = snapshot_path(url)
    datasette = make_datasette(path)
    import uvicorn  # a dependency of Datasette

    asyncio.run(datasette.invoke_startup())
    print(f"browse: {path} at http://{host}:{port}/{path.stem} (Ctrl-C stops)", flush=True)
    uvicorn.run(datasette.app(), host=host, port=port, log_level="warning", lifespan="on")
    return 0
