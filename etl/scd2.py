"""SCD2 declared once: every versioned table is a `Spec`, merged by the same SQLAlchemy Core statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.sql.elements import ColumnElement

from . import schema


@dataclass(frozen=True)
class Spec:
    """A history table: rows per key, a new one whenever a tracked column changes.

    `carried` columns are copied into a new row but never compared (a version's full record follows its hash).
    `stamped` tables carry valid_from / valid_to timestamps beside run_from / run_to; the compact fact tables
    (metric_spans, ranking_spans) keep only the run numbers.
    """

    table: sa.Table
    key: tuple[str, ...]
    tracked: tuple[str, ...] = ()
    carried: tuple[str, ...] = ()
    stamped: bool = True

    @property
    def name(self) -> str:
        return str(self.table.name)  # a plain str: SQLAlchemy's quoted_name is not a JSON key for orjson

    def current(self, table: sa.Table | sa.Alias | None = None) -> ColumnElement[bool]:
        t = self.table if table is None else table
        return t.c.valid_to.is_(None) if self.stamped else t.c.run_to.is_(None)

    def same_key(self, a: sa.FromClause, b: sa.FromClause) -> ColumnElement[bool]:
        return sa.and_(*(a.c[k] == b.c[k] for k in self.key))


@dataclass(frozen=True)
class At:
    """The run a merge writes: its id and its start time (valid_from / valid_to of what it opens and closes)."""

    run: int
    now: str


VERSIONS = Spec(schema.model_versions, ("model_id",), ("row_hash",), carried=("record",))
GATING = Spec(schema.gating_history, ("model_id",), ("gated",))
MEMBERSHIP = Spec(schema.catalog_membership, ("model_id",), carried=("model_key",))  # key from stage_seen
MAPPINGS = Spec(schema.model_providers, ("model_id", "provider"), ("provider_model_id", "status", "task", "adapter"))
OFFERS = Spec(
    schema.provider_offers,
    ("model_id", "provider"),
    (
        "status",
        "context_length",
        "price_input",
        "price_output",
        "supports_tools",
        "supports_structured_output",
        "is_model_author",
    ),
)
METRICS = Spec(
    schema.metric_spans, ("model_key",), ("downloads", "likes", "trending_score", "downloads_all_time"), stamped=False
)
RANKINGS = Spec(schema.ranking_spans, ("source", "sort", "rank"), ("model_id",), stamped=False)
# Derived from VERSIONS and MEMBERSHIP (`merge_derived`): a new span when a member's version or membership changes.
SPANS = Spec(schema.catalog_spans, ("model_id",), ("version_id",), carried=("model_key",))

HISTORY = (VERSIONS, GATING, MEMBERSHIP, MAPPINGS, OFFERS)
"""The versioned tables of SPEC section 5 (valid_from / valid_to); tests and benches read this list."""
FACTS = (METRICS, RANKINGS)
"""Per-run facts stored as spans: a row only when a value changes or the key was absent from a run."""
SCD2_TABLES = tuple(spec.name for spec in HISTORY)


def rows(conn: Connection, statement: sa.Executable) -> int:
    """Run an INSERT or UPDATE; how many rows it wrote (psycopg reports -1 for INSERT ... SELECT unless asked)."""
    return conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount or 0


def close(conn: Connection, spec: Spec, at: At, where: ColumnElement[bool]) -> int:
    """End the current rows that match `where`; returns how many."""
    values: dict[str, object] = {"run_to": at.run}
    if spec.stamped:
        values["valid_to"] = at.now
    return rows(conn, sa.update(spec.table).where(spec.current(), where).values(values))


def changed(spec: Spec, stage: sa.Table, where: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
    """The current row has a staged observation whose tracked values differ (null-safe, as the dialect says it)."""
    t = spec.table
    differs = sa.or_(*(stage.c[c].is_distinct_from(t.c[c]) for c in spec.tracked))
    return sa.exists().where(spec.same_key(stage, t), differs, *([] if where is None else [where]))


def kept(spec: Spec, stage: sa.FromClause) -> ColumnElement[bool]:
    """The current row has a staged observation with the same tracked values (null-safe)."""
    t = spec.table
    same = (stage.c[c].is_not_distinct_from(t.c[c]) for c in spec.tracked)
    return sa.exists().where(spec.same_key(stage, t), *same)


def staged(spec: Spec, stage: sa.Table) -> ColumnElement[bool]:
    """The current row's key was observed this run."""
    return sa.exists().where(spec.same_key(stage, spec.table))


def close_changed(conn: Connection, spec: Spec, stage: sa.Table, at: At) -> int:
    return close(conn, spec, at, changed(spec, stage)) if spec.tracked else 0


def open_missing(
    conn: Connection, spec: Spec, stage: sa.Table, at: At, where: ColumnElement[bool] | None = None
) -> int:
    """A new current row for every staged key (matching `where`) that has none: new, changed or returning."""
    t = spec.table
    given = sa.select(*(stage.c[n] for n in (*spec.key, *spec.tracked, *spec.carried)))
    if not has_rows(conn, t, spec.current()):
        # No current row at all (a first refresh): every staged key is new, so neither the anti-join nor the detour
        # through new_keys is needed; the staged rows go in straight from the staging table's unique index.
        return _open(conn, spec, given if where is None else given.where(where), at)
    has_current = sa.exists().where(spec.same_key(t, stage), spec.current())
    absent = ~has_current if where is None else sa.and_(~has_current, where)
    with new_keys(conn, stage, spec.key, absent) as keys:
        return _open(conn, spec, given.join(keys, spec.same_key(stage, keys)), at)


def _open(conn: Connection, spec: Spec, given: sa.Select[Any], at: At) -> int:
    """Insert the rows `given` (key, tracked and carried columns, in that order) as opened by run `at`.

    In key order: every index on the key then grows at its end, so each page is written once, not re-dirtied (and
    spilled again) by inserts scattered over the whole B-tree.
    """
    stamps: list[sa.ColumnElement[object]] = [sa.literal(at.run, sa.Integer)]
    targets = [*spec.key, *spec.tracked, *spec.carried, "run_from"]
    if spec.stamped:
        stamps.append(sa.literal(at.now, schema.TS))
        targets.append("valid_from")
    query = given.add_columns(*stamps).order_by(*list(given.selected_columns)[: len(spec.key)])
    return rows(conn, sa.insert(spec.table).from_select(targets, query))


def has_rows(conn: Connection, table: sa.Table, where: ColumnElement[bool] | None = None) -> bool:
    """Whether any row (matching `where`) exists; a current row is found through the partial unique index."""
    query = sa.select(sa.literal(1)).select_from(table)
    return conn.execute((query if where is None else query.where(where)).limit(1)).first() is not None


@contextmanager
def new_keys(conn: Connection, stage: sa.Table, key: tuple[str, ...], where: ColumnElement[bool]) -> Iterator[sa.Table]:
    """The keys of the staged rows matching `where`, in a temporary table of their own while the block runs.

    An INSERT whose SELECT reads its own target table (as `where` does: "no current row yet") makes SQLite copy
    every selected row, records and all, to a temporary table first; selecting only the keys first and then
    joining them halves what the first refresh writes.
    """
    query = sa.select(*(stage.c[k] for k in key)).where(where)
    with temporary(conn, "stage_new_keys", [stage.c[k] for k in key], query, len(key)) as keys:
        yield keys


@contextmanager
def temporary(
    conn: Connection,
    name: str,
    like: list[sa.ColumnElement[Any]],
    query: sa.Select[Any] | sa.CompoundSelect[Any],
    keyed: int,
) -> Iterator[sa.Table]:
    """A temporary table `name` with columns like `like` (the first `keyed` its primary key), filled by `query` in
    key order, dropped when the block ends."""
    columns = [sa.Column(str(c.key), c.type, primary_key=i < keyed, autoincrement=False) for i, c in enumerate(like)]
    table = sa.Table(name, sa.MetaData(), *columns, prefixes=["TEMPORARY"])
    table.create(conn)
    try:
        ordered = query.order_by(*(sa.literal_column(str(i + 1)) for i in range(keyed)))
        conn.execute(sa.insert(table).from_select([c.name for c in columns], ordered))
        yield table
    finally:
        table.drop(conn)


def merge_observed(conn: Connection, spec: Spec, stage: sa.Table, at: At) -> tuple[int, int]:
    """Close rows whose tracked values moved, open rows for keys without one: (closed, opened)."""
    closed = close_changed(conn, spec, stage, at)
    return closed, open_missing(conn, spec, stage, at)


def merge_facts(conn: Connection, spec: Spec, stage: sa.Table, at: At) -> int:
    """A fact span table: close what changed and what this run did not observe, open the rest; rows opened.

    One pass closes both (no staged row with the same values), where two would each walk every open span.
    """
    close(conn, spec, at, ~kept(spec, stage))
    return open_missing(conn, spec, stage, at)


def reset_misses(conn: Connection, spec: Spec, present: ColumnElement[bool]) -> int:
    t = spec.table
    return rows(conn, sa.update(t).where(spec.current(), t.c.misses > 0, present).values(misses=0))


def count_misses(conn: Connection, spec: Spec, absent: ColumnElement[bool]) -> int:
    t = spec.table
    return rows(conn, sa.update(t).where(spec.current(), absent).values(misses=t.c.misses + 1))


def retire(conn: Connection, spec: Spec, at: At, after: int) -> int:
    """Close current rows proven absent `after` runs in a row."""
    misses = spec.table.c.misses
    return close(conn, spec, at, sa.and_(misses > 0, misses >= after))


def merge_derived(
    conn: Connection, spec: Spec, source: sa.Select[Any], touched: sa.Select[Any] | sa.CompoundSelect[Any], at: At
) -> int:
    """A table derived from other tables' current rows, for the keys `touched` this run (the rest cannot have moved):
    close current rows that `source` (key, tracked and carried columns, in that order) no longer gives as they are,
    open what it gives anew. Returns the rows opened.
    """
    t, n = spec.table, len(spec.key)
    if not has_rows(conn, t, spec.current()):
        # No current row at all (a first refresh): whatever `source` gives is new, as in open_missing, so it goes
        # in straight, without the temporary tables of touched keys and their rows.
        return _open(conn, spec, source, at)
    with temporary(conn, "stage_derived_keys", list(touched.selected_columns), touched, n) as keys:
        given = source.where(_one_of(list(source.selected_columns)[:n], keys))
        with temporary(conn, "stage_derived", list(source.selected_columns), given, n) as stage:
            # IN, not EXISTS: SQLite then reads only the touched keys' rows instead of testing every current row.
            close(conn, spec, at, sa.and_(_one_of([t.c[k] for k in spec.key], keys), ~kept(spec, stage)))
            return open_missing(conn, spec, stage, at)


def _one_of(columns: list[sa.ColumnElement[Any]], keys: sa.Table) -> ColumnElement[bool]:
    """`columns` (a key) IN the rows of `keys`."""
    if len(columns) == 1:
        return columns[0].in_(sa.select(*keys.c))
    return sa.tuple_(*columns).in_(sa.select(*keys.c))
