"""Stage a run's rows in temporary tables, then merge them into the history in one short write transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection

from . import scd2, schema, staging
from .checks import printable, storable_id
from .config import HistoryConfig
from .db import prepare_merge, stage_rows
from .keyset import KeySet
from .records import Offer, Seen, fingerprint_key, item_id
from .scd2 import At
from .transform import ModelRow

MAX_REJECTS = 10_000  # per run; beyond that they are only counted
# Rows held per staging table before one INSERT. Each statement the loading thread runs while the listing threads
# parse pages costs it a wait for the GIL (up to a whole page's parse: orjson never lets go mid-page), so a few
# large inserts beat many small ones; the limits bound memory (a stage_models row carries its record, about 2 KB).
# Multiples of db.SQLITE_ROWS_PER_INSERT, so every full flush is made of same-sized statements.
FLUSH_AT = {"stage_seen": 20_000, "stage_models": 2_000, "stage_mappings": 10_000, "stage_offers": 10_000}
_T = TypeVar("_T")  # what a function handed to Loader._do returns


@dataclass
class MergeInput:
    """What extraction concluded, as the merge needs it."""

    catalog_proven: bool  # every catalog partition proven complete and not shrunk: absences count as misses
    proven_providers: set[str]  # providers whose own partition was proven: their mappings' absences count
    router_complete: bool  # the router's list was read whole: absent offers count as misses
    providers: dict[str, bool] = field(default_factory=dict)  # provider id -> known to huggingface_hub
    rankings: list[tuple[str, str, int, str]] = field(default_factory=list)  # (source, sort, rank, model_id)
    # Providers this run proved gone (unknown to huggingface_hub, absent from a complete router list and from every
    # mapping of a proven catalog): a miss each; retired after `retire_after_misses` such runs.
    providers_absent: set[str] = field(default_factory=set)
    run_sources: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MergeCounts:
    """What the run changed; goes into its `runs` row."""

    models_seen: int = 0
    models_added: int = 0
    models_changed: int = 0
    models_removed: int = 0
    models_restored: int = 0
    rows_written: dict[str, int] = field(default_factory=dict)


def _stored_offer(row: Sequence[Any]) -> Offer:
    """An Offer as parse_offers made it from a stored row: flags back to 0/1 (PostgreSQL gives booleans)."""
    provider, status, context, price_in, price_out, tools, structured, author = row
    return Offer(provider, status, context, price_in, price_out, _flag(tools), _flag(structured), _flag(author))


def _flag(value: Any) -> int | None:
    return None if value is None else int(value)


class Loader:
    """Stages one run's rows, then merges them into the history tables in one transaction of its own.

    Staging writes only temporary tables, which take no lock on the database: other writers (health probes)
    go on while the listings run, and the refresh holds the write lock only for its final merge. Rows are held
    per table (FLUSH_AT) and go in as multi-row INSERTs (COPY on PostgreSQL, see db.stage_rows) on the caller's
    thread: neither a writer thread (with JSON staging, or with these INSERTs) nor executemany paid for itself in
    the interleaved A/Bs of `python -m bench load` (README, Performance).
    """

    def __init__(
        self,
        conn: Connection,
        at: At,
        history: HistoryConfig,
    ) -> None:
        self.conn = conn
        self.at = at
        self.history = history
        self.rejects = 0
        self.anonymous_rejects = 0  # catalog items without an id: they could be any model, so nothing is proven absent
        self._router_complete = False
        self._offers_indexed = False
        self._buffers: dict[sa.Table, list[tuple[Any, ...]]] = {}
        self._promoted: list[str] = []
        self._reject_keys: set[bytes] = set()  # 8-byte digests of the rejects staged this run
        self._held_offers: dict[str, tuple[Offer, ...]] | None = None  # hold_offers

    # ---- staging --------------------------------------------------------------------------------

    def _do(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        """fn(*args) now, as a done future (callers look offers up a page ahead through this)."""
        done: Future[_T] = Future()
        done.set_result(fn(*args))
        return done

    def _buffer(self, table: sa.Table, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows for a staging table, inserted once FLUSH_AT of them are held (or at flush)."""
        held = self._buffers.setdefault(table, [])
        held.extend(rows)
        limit = FLUSH_AT.get(table.name, 500)
        # Exactly `limit` rows at a time (the rest waits): sqlite3 caches a prepared statement per SQL text and
        # each keeps a copy of the values last bound, so INSERTs of ever-different row counts held records for
        # 128 statements (110 MB more peak RSS at 1M models); one size per table keeps one copy.
        while len(held) >= limit:
            self._insert(table, held[:limit])
            del held[:limit]

    def flush(self) -> None:
        """Every buffered staging row into its table."""
        buffers, self._buffers = self._buffers, {}
        for table, rows in buffers.items():
            self._insert(table, rows)

    def _insert(self, table: sa.Table, rows: Sequence[tuple[Any, ...]]) -> None:
        """Positional rows into the first columns of a staging table."""
        if rows:
            target = staging.filled(table).name
            stage_rows(self.conn, target, [c.name for c in table.columns][: len(rows[0])], rows)

    def create_staging(self) -> None:
        self._do(staging.create, self.conn).result()

    def _known_fingerprints(self) -> KeySet:
        m = schema.models
        query = sa.select(m.c.raw_hash).where(m.c.raw_hash.is_not(None)).order_by(m.c.raw_hash)
        rows = self.conn.execute(query, execution_options={"yield_per": 10_000})
        return KeySet(fingerprint_key(raw_hash) for (raw_hash,) in rows)

    def known_fingerprints(self) -> KeySet:
        """64-bit prefixes of every stored fingerprint (models with a current version), compactly."""
        return self._do(self._known_fingerprints).result()

    def stage(self, seen: Sequence[Seen], rows: Sequence[ModelRow], in_catalog: bool) -> None:
        """Observed models (all of them, light, with their counters) and the full rows of those transformed."""
        if not seen:
            return
        flag = int(in_catalog)
        self._buffer(
            staging.seen,
            [(s.model_id, flag, s.downloads, s.likes, s.trending_score, s.downloads_all_time) for s in seen],
        )
        if rows:
            hashes = {s.model_id: s.raw_hash for s in seen}
            # A row with a bad mapping entry keeps no fingerprint: it is transformed (and reported) every run.
            self._buffer(
                staging.models, [(*_model_columns(r), None if r.problems else hashes[r.model_id]) for r in rows]
            )
            self._buffer(
                staging.mappings,
                [
                    (r.model_id, m.provider, m.provider_model_id, m.status, m.task, m.adapter)
                    for r in rows
                    for m in r.mappings
                ],
            )

    def mark_catalog(self, model_ids: Iterable[str]) -> None:
        """Models first seen by a `top` source and then by a catalog source."""
        self._promoted.extend(model_ids)  # applied by the merge, once stage_seen has its index

    def stage_offers(self, model_id: str, offers: Sequence[Offer]) -> None:
        """One router entry's offers (buffered; flushed with flush_offers)."""
        self._buffer(
            staging.offers,
            (
                (
                    model_id,
                    o.provider,
                    o.status,
                    o.context_length,
                    o.price_input,
                    o.price_output,
                    o.supports_tools,
                    o.supports_structured_output,
                    o.is_model_author,
                )
                for o in offers
            ),
        )

    def flush_offers(self) -> None:
        self._do(self.flush)

    def hold_offers(self, offers: dict[str, tuple[Offer, ...]]) -> None:
        """Every staged router offer by model (a complete list, read whole): offers_for reads these, not staging."""
        self._held_offers = offers

    def offers_for(self, model_ids: Sequence[str]) -> Future[dict[str, tuple[Offer, ...]]]:
        """Staged router offers of these models, sorted by provider (what the transformer needs), when ready."""
        held = self._held_offers
        if held is not None:
            return self._do(lambda: {m: held[m] for m in model_ids if m in held})
        return self._do(self._offers_for, list(model_ids))

    def _offers_for(self, model_ids: Sequence[str]) -> dict[str, tuple[Offer, ...]]:
        out: dict[str, list[Offer]] = {}
        s = staging.offers
        for i in range(0, len(model_ids), 500):
            query = (
                sa.select(s.c.model_id, s.c.provider, *(s.c[c] for c in scd2.OFFERS.tracked))
                .where(s.c.model_id.in_(model_ids[i : i + 500]))
                .order_by(s.c.model_id, s.c.provider)
            )
            for model_id, *fields in self.conn.execute(query):
                out.setdefault(model_id, []).append(Offer(*fields))
        return {k: tuple(v) for k, v in out.items()}

    def add_reject(
        self, source: str | None, item: Any, reason: str, in_catalog: bool = True, model_id: str | None = None
    ) -> None:
        """One `rejects` row per distinct (item, reason) per run: an item several listings return counts once."""
        try:
            payload = orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            payload = repr(item)
        key = hashlib.blake2b(f"{reason}\0{payload}".encode(), digest_size=8).digest()
        if key in self._reject_keys:
            return
        if len(self._reject_keys) < 10 * MAX_REJECTS:  # bounded memory; beyond that a repeat may count twice
            self._reject_keys.add(key)
        self.rejects += 1
        if model_id is None:
            model_id = item_id(item)  # `id` (or an old-shape item's `modelId`) when the caller did not name it
        self.anonymous_rejects += int(model_id is None and in_catalog)
        model_id = storable_id(model_id)  # an id no backend can store is no stored model: kept in the payload only
        if self.rejects > MAX_REJECTS:
            return
        self._buffer(staging.rejects, [(source, model_id, printable(reason)[:1000], payload[:20_000])])

    def staged_rejects(self) -> list[tuple[str, str | None]]:
        """This run's rejects so far, (reason, model_id), once every queued insert has run."""
        s = staging.rejects
        query = sa.select(s.c.reason, s.c.model_id)
        self.flush()
        return self._do(lambda: [(r.reason, r.model_id) for r in self.conn.execute(query)]).result()

    # ---- merging --------------------------------------------------------------------------------

    def stage_stored_offers(self, only: Sequence[str] | None = None) -> Iterator[tuple[str, tuple[Offer, ...]]]:
        """When the router's list was not read whole: stage the stored current offers of every model it did not
        deliver, as if it had (a failed source changes no record), then yield every staged model's offers. With
        `only` (the models of rejected entries), those models' alone.

        Offers a complete read already missed (misses > 0) were left out of last run's records: they stay out.
        """
        self.flush()
        o, s = schema.provider_offers, staging.offers
        columns = ["model_id", "provider", *scd2.OFFERS.tracked]
        stored = sa.select(*(o.c[c] for c in columns)).where(
            o.c.valid_to.is_(None), o.c.misses == 0, o.c.model_id.not_in(sa.select(s.c.model_id))
        )
        query = sa.select(*(s.c[c] for c in columns)).order_by(s.c.model_id)
        if only is not None:
            stored, query = stored.where(o.c.model_id.in_(only)), query.where(s.c.model_id.in_(only))
        self.conn.execute(sa.insert(s).from_select(columns, stored))
        rows = self.conn.execute(query, execution_options={"yield_per": 10_000})
        for model_id, group in groupby(rows, key=itemgetter(0)):
            # Sorted here, not in SQL: parse_offers sorts by Python's order, which a server collation may not share.
            offers = sorted((_stored_offer(row[1:]) for row in group), key=attrgetter("provider"))
            yield model_id, tuple(offers)

    def merge_offers(self, router_complete: bool) -> None:
        """The router's list is staged: index it for offers_for; its absences count if it was read whole."""
        self._router_complete = router_complete
        self._offers_indexed = True
        self._do(staging.index, self.conn, staging.offers)

    def merge(self, inp: MergeInput) -> MergeCounts:
        """Every history table, the retirement rules and the per-run facts, in one transaction.

        It leaves that transaction open: the caller writes the run's row in it and commits.
        """
        return self._do(self._merge, inp).result()

    def _begin_merge(self) -> None:
        """End the staging transaction (temporary tables only) and open the one that writes the history.

        SQLite: BEGIN IMMEDIATE takes the write lock now (waiting busy_timeout for another writer), so no read in
        this transaction can see a snapshot older than a write another connection committed while we staged.
        """
        self.conn.commit()
        if self.conn.dialect.name == "sqlite":
            self.conn.exec_driver_sql("BEGIN IMMEDIATE")

    def _merge(self, inp: MergeInput) -> MergeCounts:
        self.flush()
        self._insert(staging.proven, [(p,) for p in sorted(inp.proven_providers)])
        self._insert(staging.providers, [(p, int(k)) for p, k in sorted(inp.providers.items())])
        self._insert(staging.rankings, list(inp.rankings))
        staging.cluster(self.conn)
        staging.index(self.conn, *(t for t in staging.KEYS if t is not staging.offers or not self._offers_indexed))
        if self._promoted:
            seen = staging.seen
            self.conn.execute(
                sa.update(seen).where(seen.c.model_id == sa.bindparam("promoted")).values(in_catalog=1),
                [{"promoted": m} for m in self._promoted],
            )
        self._begin_merge()
        prepare_merge(self.conn, [t.name for t in staging.TABLES])
        counts = MergeCounts()
        counts.models_seen = self._count(staging.seen)
        self._copy_rejects()
        self._merge_models()
        counts.models_changed = scd2.merge_observed(self.conn, scd2.VERSIONS, staging.models, self.at)[0]
        scd2.merge_observed(self.conn, scd2.GATING, staging.models, self.at)
        self._merge_offers()
        self._merge_mappings(inp)
        self._flag_unmapped()
        self._merge_membership(inp, counts)
        self._merge_spans(retired=counts.models_removed > 0)
        self._merge_facts(inp)
        counts.rows_written = self._rows_written()
        return counts

    def _count(self, table: sa.Table, where: sa.ColumnElement[bool] | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(table)
        return int(self.conn.execute(query if where is None else query.where(where)).scalar() or 0)

    def _copy_rejects(self) -> None:
        s = staging.rejects
        query = sa.select(sa.literal(self.at.run, sa.Integer), s.c.source, s.c.model_id, s.c.reason, s.c.payload)
        self.conn.execute(
            sa.insert(schema.rejects).from_select(["run_id", "source", "model_id", "reason", "payload"], query)
        )

    def _merge_models(self) -> None:
        """One row per model ever seen: attributes as last transformed, last_seen_run for every observed one."""
        m, s, seen, run = schema.models, staging.models, staging.seen, self.at.run
        names = [c.name for c in s.columns if c.name != "record"]
        top = int(self.conn.execute(sa.select(sa.func.coalesce(sa.func.max(m.c.model_key), 0))).scalar() or 0)
        listed = seen.c.in_catalog == 1
        # A new model is written whole, its listing columns included, so the update below skips it.
        new = (
            sa.select(
                *(s.c[n] for n in names),
                sa.case((listed, 1), else_=0),
                *(sa.literal(v, sa.Integer) for v in (run, run, 0)),
                sa.case((listed, run), else_=None),
                top + sa.func.row_number().over(order_by=s.c.model_id),
            )
            .join(seen, seen.c.model_id == s.c.model_id)
            .order_by(s.c.model_id)
        )
        targets = [*names, "listed", "first_seen_run", "last_seen_run", "misses", "last_listed_run", "model_key"]
        if not scd2.has_rows(self.conn, m):  # a first refresh: every staged model is new (see scd2.open_missing)
            self.conn.execute(sa.insert(m).from_select(targets, new))
        else:
            absent = ~sa.exists().where(m.c.model_id == s.c.model_id)
            with scd2.new_keys(self.conn, s, ("model_id",), absent) as keys:
                self.conn.execute(sa.insert(m).from_select(targets, new.join(keys, keys.c.model_id == s.c.model_id)))
        attributes = {n: s.c[n] for n in names if n != "model_id"}
        self.conn.execute(sa.update(m).where(m.c.model_id == s.c.model_id, m.c.first_seen_run < run).values(attributes))
        self.conn.execute(
            sa.update(m)
            .where(m.c.model_id == seen.c.model_id, m.c.first_seen_run < run)
            .values(
                last_seen_run=run,
                listed=sa.case((listed, 1), else_=m.c.listed),
                misses=sa.case((listed, 0), else_=m.c.misses),
                last_listed_run=sa.case((listed, run), else_=m.c.last_listed_run),
            )
        )
        self.conn.execute(sa.update(seen).where(m.c.model_id == seen.c.model_id).values(model_key=m.c.model_key))
        self.conn.exec_driver_sql("CREATE UNIQUE INDEX stage_seen_model_key ON stage_seen (model_key)")

    def _merge_offers(self) -> None:
        """Router prices and capabilities per (model, provider); absences count only when its list was whole."""
        spec, s = scd2.OFFERS, staging.offers
        scd2.merge_observed(self.conn, spec, s, self.at)
        scd2.reset_misses(self.conn, spec, scd2.staged(spec, s))
        if self._router_complete:
            scd2.count_misses(self.conn, spec, ~scd2.staged(spec, s))
            scd2.retire(self.conn, spec, self.at, self.history.retire_after_misses)

    def _merge_mappings(self, inp: MergeInput) -> None:
        """Per (model, provider): a new row on change; a miss if seen without it, or unseen with its provider proven."""
        spec, p, s = scd2.MAPPINGS, schema.model_providers, staging.mappings
        scd2.merge_observed(self.conn, spec, s, self.at)
        # Which current mappings the model's newest item lists: an unchanged (same fingerprint) model keeps them.
        listed = sa.case((scd2.staged(spec, s), 1), else_=0)
        retransformed = p.c.model_id.in_(sa.select(staging.models.c.model_id))
        # A row this run opened came from the staged mappings themselves: it is listed (in_item's default, 1).
        opened_before = p.c.run_from < self.at.run
        self.conn.execute(
            sa.update(p)
            .where(spec.current(), retransformed, opened_before, p.c.in_item != listed)
            .values(in_item=1 - p.c.in_item)
        )
        seen = p.c.model_id.in_(sa.select(staging.seen.c.model_id))
        # EXISTS, not IN: with IN, SQLite walks every staged model into the mappings; this way it reads only the rows
        # with a pending miss (their partial index).
        was_seen = sa.exists().where(staging.seen.c.model_id == p.c.model_id)
        scd2.reset_misses(self.conn, spec, sa.and_(p.c.in_item == 1, was_seen))
        proven = p.c.provider.in_(sa.select(staging.proven.c.provider))
        absent = sa.or_(sa.and_(p.c.in_item == 0, seen), sa.and_(~seen, proven))
        scd2.count_misses(self.conn, spec, sa.and_(absent, ~p.c.model_id.in_(self._rejected_ids())))
        scd2.retire(self.conn, spec, self.at, self.history.retire_after_misses)

    def _flag_unmapped(self) -> None:
        """provider_offers.unmapped: the router offers a provider the Hub does not map for that model (any status)."""
        o, p = schema.provider_offers, schema.model_providers
        mapped = sa.exists().where(p.c.valid_to.is_(None), p.c.model_id == o.c.model_id, p.c.provider == o.c.provider)
        flag = sa.case((mapped, 0), else_=1)
        self.conn.execute(
            sa.update(o).where(o.c.valid_to.is_(None), o.c.unmapped != flag).values(unmapped=1 - o.c.unmapped)
        )

    def _rejected_ids(self) -> sa.Select[tuple[str]]:
        r = schema.rejects
        return sa.select(r.c.model_id).where(r.c.run_id == self.at.run, r.c.model_id.is_not(None))

    def _merge_membership(self, inp: MergeInput, counts: MergeCounts) -> None:
        """Catalog scope: open for models a catalog source returned; retire only after proven misses."""
        spec, c, m, seen = scd2.MEMBERSHIP, schema.catalog_membership, schema.models, staging.seen
        opened = scd2.open_missing(self.conn, spec, seen, self.at, where=seen.c.in_catalog == 1)
        if opened:  # restored: opened now, with an earlier (closed) row; only this run's rows are read
            earlier = c.alias("earlier")
            counts.models_restored = self._count(
                c,
                sa.and_(
                    c.c.run_from == self.at.run,
                    c.c.valid_to.is_(None),
                    sa.exists().where(earlier.c.model_id == c.c.model_id, earlier.c.valid_to.is_not(None)),
                ),
            )
        counts.models_added = opened - counts.models_restored
        # Present: seen by a catalog listing, or by any source whose newest item still lists a mapping (in_item).
        # Not merely "has a current mapping row": that row itself waits out its misses, so a model that lost its
        # last provider would be retired retire_after_misses runs late.
        mp = schema.model_providers
        served = sa.exists().where(mp.c.model_id == seen.c.model_id, mp.c.valid_to.is_(None), mp.c.in_item == 1)
        present = sa.exists().where(seen.c.model_id == m.c.model_id, sa.or_(seen.c.in_catalog == 1, served))
        self.conn.execute(sa.update(m).where(m.c.listed == 1, m.c.misses > 0, present).values(misses=0))
        if not inp.catalog_proven:
            return  # unobserved is not removed: no miss is counted in a run that could not prove absence
        # Only a model no source saw, or one seen by a `top` source alone, can be absent: those candidates come from
        # narrow indexes (models' (model_id, model_key) and the staged keys), not from a walk over every models row.
        unseen = sa.select(m.c.model_id).where(~sa.exists().where(seen.c.model_id == m.c.model_id))
        top_only = sa.select(seen.c.model_id).where(sa.func.coalesce(seen.c.in_catalog, 0) != 1)
        self.conn.execute(
            sa.update(m)
            .where(
                m.c.model_id.in_(sa.union_all(unseen, top_only)),
                m.c.listed == 1,
                ~present,
                ~m.c.model_id.in_(self._rejected_ids()),
            )
            .values(misses=m.c.misses + 1)
        )
        n = self.history.retire_after_misses
        retired = sa.select(m.c.model_id).where(m.c.listed == 1, m.c.misses > 0, m.c.misses >= n)
        counts.models_removed = scd2.close(self.conn, spec, self.at, c.c.model_id.in_(retired))
        # A model that is gone from the Hub (no source saw it) also ends its version and gating rows; its
        # fingerprint is forgotten so that a return opens a new version even if nothing else changed.
        gone = retired.where(~m.c.model_id.in_(sa.select(seen.c.model_id)))
        for gone_spec in (scd2.VERSIONS, scd2.GATING):
            scd2.close(self.conn, gone_spec, self.at, gone_spec.table.c.model_id.in_(gone))
        self.conn.execute(sa.update(m).where(m.c.model_id.in_(gone)).values(raw_hash=None))
        self.conn.execute(sa.update(m).where(m.c.listed == 1, m.c.misses > 0, m.c.misses >= n).values(listed=0))

    def _merge_spans(self, retired: bool) -> None:
        """catalog_spans for the models whose version or membership opened or closed this run.

        A version closes only when its model's next one opens in the same run, or when the model is retired (its
        membership closes too); only retirements close memberships. So the rows closed this run (found by a scan of
        the run_to indexes, about 15 ms at 30,000 models) are looked for only in a run that retired a model.
        """
        v, c, run = schema.model_versions, schema.catalog_membership, self.at.run
        ends = [(v, v.c.run_from), (c, c.c.run_from)]
        if retired:
            ends += [(v, v.c.run_to), (c, c.c.run_to)]
        touched = sa.union(*(sa.select(t.c.model_id).where(when == run) for t, when in ends))
        current = sa.and_(c.c.model_id == v.c.model_id, c.c.valid_to.is_(None))
        pairs = sa.select(v.c.model_id, v.c.version_id, c.c.model_key).join(c, current).where(v.c.valid_to.is_(None))
        scd2.merge_derived(self.conn, scd2.SPANS, pairs, touched, self.at)

    def _merge_facts(self, inp: MergeInput) -> None:
        """Metrics and rankings as spans, providers, run_sources."""
        scd2.merge_facts(self.conn, scd2.METRICS, staging.seen, self.at)
        scd2.merge_facts(self.conn, scd2.RANKINGS, staging.rankings, self.at)
        p, s, run = schema.providers, staging.providers, self.at.run
        self.conn.execute(
            sa.update(p)
            .where(p.c.provider == s.c.provider)
            .values(last_seen_run=run, known_to_client=s.c.known, misses=0, retired_run=None)  # seen again: back
        )
        new = sa.select(s.c.provider, sa.literal(run), sa.literal(run), s.c.known).where(
            ~sa.exists().where(p.c.provider == s.c.provider)
        )
        self.conn.execute(
            sa.insert(p).from_select(["provider", "first_seen_run", "last_seen_run", "known_to_client"], new)
        )
        self._retire_providers(inp.providers_absent)
        if inp.run_sources:
            self.conn.execute(sa.insert(schema.run_sources), [{**row, "run_id": run} for row in inp.run_sources])

    def _retire_providers(self, absent: set[str]) -> None:
        """A miss per provider proven gone this run; retired (no longer listed) after retire_after_misses."""
        if not absent:
            return
        p = schema.providers
        self.conn.execute(
            sa.update(p)
            .where(p.c.retired_run.is_(None), p.c.provider == sa.bindparam("gone"))
            .values(misses=p.c.misses + 1),
            [{"gone": name} for name in sorted(absent)],
        )
        n = self.history.retire_after_misses
        self.conn.execute(
            sa.update(p)
            .where(p.c.retired_run.is_(None), p.c.misses > 0, p.c.misses >= n)
            .values(retired_run=self.at.run)
        )

    def _rows_written(self) -> dict[str, int]:
        """Rows this run added to each history table (the unchanged re-run's figure)."""
        out = {spec.name: self._count(spec.table, spec.table.c.run_from == self.at.run) for spec in scd2.HISTORY}
        derived = (*scd2.FACTS, scd2.SPANS)
        out.update({spec.name: self._count(spec.table, spec.table.c.run_from == self.at.run) for spec in derived})
        for table in (schema.run_sources, schema.rejects):
            out[str(table.name)] = self._count(table, table.c.run_id == self.at.run)
        return out


def _model_columns(r: ModelRow) -> tuple[Any, ...]:
    """A transformed row in stage_models' column order (without its raw_hash)."""
    return (
        r.model_id,
        r.author,
        r.pipeline_tag,
        r.library_name,
        r.gated,
        r.private,
        r.created_at,
        r.last_modified,
        r.num_parameters,
        r.license,
        r.tags,
        r.row_hash,
        r.record,
    )
