"""The `runs` row's life: opened (committed on its own), then finished with the merge or marked failed."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from . import __version__
from .db import describe
from .dberrors import database_error
from .load import MergeCounts
from .schema import runs

log = logging.getLogger("hfsnap.runs")
INTERRUPTED = "interrupted: the process died during the run"


def start(engine: Engine, trigger: str, stamp: Callable[[str | None], str]) -> tuple[int, str]:
    """Close runs a dead process left 'running', then open this run's row; returns (run_id, started_at).

    `stamp(after)` gives the start time, later than `after` (the newest run's start) so runs stay in order.
    """
    with engine.begin() as conn:
        started = stamp(conn.execute(sa.select(sa.func.max(runs.c.started_at))).scalar())
        conn.execute(
            sa.update(runs)
            .where(runs.c.status == "running")
            .values(status="failed", finished_at=started, error=INTERRUPTED)
        )
        run_id = conn.execute(
            sa.insert(runs)
            .values(
                started_at=started,
                status="running",
                trigger=trigger,
                requests=0,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                version=__version__,
            )
            .returning(runs.c.run_id)
        ).scalar_one()
    return int(run_id), started


def fail(engine: Engine, run_id: int, finished: str, message: str, requests: int) -> None:
    """Mark the run failed in a transaction of its own; if the database itself is what failed, the next run's
    start closes the row instead."""
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.update(runs)
                .where(runs.c.run_id == run_id)
                .values(status="failed", finished_at=finished, error=message[:2000], requests=requests)
            )
    except SQLAlchemyError as exc:
        error = database_error(exc, describe(engine))
        log.error("run %d: cannot mark the run failed (%s); the next run will", run_id, error)


def finish(conn: Connection, run_id: int, finished: str, counts: MergeCounts, outcome: RunOutcome) -> str:
    """Write the run's end into the merge's transaction (committed with it); returns its status."""
    status = "partial" if outcome.incomplete else "complete"
    conn.execute(
        sa.update(runs)
        .where(runs.c.run_id == run_id)
        .values(
            status=status,
            finished_at=finished,
            requests=outcome.requests,
            models_seen=counts.models_seen,
            models_added=counts.models_added,
            models_changed=counts.models_changed,
            models_removed=counts.models_removed,
            models_restored=counts.models_restored,
            rejects=outcome.rejects,
            error="; ".join(outcome.incomplete)[:2000] or None,
        )
    )
    return status


@dataclass(frozen=True)
class RunOutcome:
    """What the run row records beside the merge counts; `incomplete` lists why it is partial."""

    requests: int
    rejects: int
    incomplete: list[str]
