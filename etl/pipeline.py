"""run_once(config) -> RunReport: the one composition of extract, transform and load, used by CLI and scheduler."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from . import checks, notify, runs
from .config import Config
from .db import describe, make_engine, upgrade
from .dberrors import check_sqlite_files, database_error
from .errors import EtlError, HubError, HubUnreachable, LoadError, RejectItem, error_line
from .extract import ExtractionReport, Extractor, Listing, known_providers
from .gctune import fewer_collections
from .hub import HubClient, resolve_token
from .load import Loader, MergeCounts, MergeInput
from .lock import refresh_lock
from .maintenance import prune
from .records import Again, HubModel, Known, Offer, Parser, Reject, Seen, parse_offers, router_salt
from .scd2 import At
from .stamps import format_stamp, parse_stamp
from .transform import ModelRow, to_row
from .wire import id_of, loaded

log = logging.getLogger("hfsnap.pipeline")
BATCH = 1000  # models per staging insert: bounds the rows held in memory
OFFERS_HELD = 200_000  # router entries whose offers stay in memory (about 300 bytes each); beyond, staging serves


@dataclass
class RunReport:
    """What a refresh did: the `runs` row and the reasons it is partial, if it is."""

    run_id: int
    status: str
    started_at: str
    finished_at: str
    requests: int
    counts: MergeCounts
    rejects: int
    incomplete: list[str] = field(default_factory=list)
    listings: list[Listing] = field(default_factory=list, repr=False)
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return {"complete": 0, "partial": 3}.get(self.status, 1)

    def as_dict(self) -> dict[str, Any]:
        catalog = [lst for lst in self.listings if lst.kind == "catalog"]
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "requests": self.requests,
            "models_seen": self.counts.models_seen,
            "models_added": self.counts.models_added,
            "models_changed": self.counts.models_changed,
            "models_removed": self.counts.models_removed,
            "models_restored": self.counts.models_restored,
            "rejects": self.rejects,
            "listings": len(self.listings),
            "listings_complete": sum(lst.complete for lst in catalog),
            "listings_capped": sum(lst.capped for lst in catalog),
            "listings_failed": sum(bool(lst.error) and not lst.capped for lst in self.listings),
            "estimated_unreached": _unreached(self.listings),
            "incomplete": self.incomplete,
            "rows_written": self.counts.rows_written,
            "error": self.error,
        }


def _unreached(listings: list[Listing]) -> int:
    """Sum over capped partitions of (estimated total - reached)."""
    return sum(
        max(0, (lst.estimated_total or 0) - (lst.reached or 0)) for lst in listings if lst.estimated_total is not None
    )


class Clock:
    """UTC timestamps that never go backwards between runs (history needs a strict order)."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))

    def iso(self, after: str | None = None) -> str:
        stamp = self._now().astimezone(UTC)
        if after:
            stamp = max(stamp, parse_stamp(after) + timedelta(microseconds=1))
        return format_stamp(stamp)


@dataclass
class RunContext:
    """What one refresh works with: its config, a ready Hub client, why it runs, its clock, a progress callback.

    The client is the run's only way to the Hub (its transport, token and sleeps are set where it is built); the
    run's request count is what the client counted since the context was made.
    """

    config: Config
    client: HubClient
    trigger: str = "manual"
    clock: Clock = field(default_factory=Clock)
    progress: Callable[[int], None] | None = None
    base_requests: int = field(init=False)

    def __post_init__(self) -> None:
        self.base_requests = self.client.stats.requests

    @property
    def requests(self) -> int:
        return self.client.stats.requests - self.base_requests


def run_once(
    config: Config,
    client: HubClient | None = None,
    *,
    trigger: str = "manual",
    clock: Clock | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunReport:
    """One snapshot run: lock, extract, transform, load in one transaction; never raises for a Hub failure.

    `client` (made from config.hub and the resolved token if omitted, and then closed) is the caller's to close.
    Notifications ([notify]) go out at the start and the end, whatever the outcome; they never change it.
    """
    if client is None:
        with HubClient(config.hub, token=resolve_token()) as own:
            return run_once(config, own, trigger=trigger, clock=clock, progress=progress)
    run = RunContext(config, client, trigger, clock or Clock(), progress)
    notifier = notify.Notifier(config.notify, config.db.url, redact_secrets=client.redact)
    try:
        with fewer_collections():
            report = _run(run, notifier)
    except BaseException as exc:
        notifier.finished(None, exc)
        raise
    notifier.finished(report, None)
    return report


def _run(run: RunContext, notifier: notify.Notifier) -> RunReport:
    check_sqlite_files(run.config.db.url)  # before SQLite creates a -wal/-shm with a read-only file's mode
    engine = make_engine(run.config.db.url)
    try:
        with refresh_lock(engine):  # before migrating: two refreshes on a fresh database would race to create it
            notifier.started()
            upgrade(engine)
            return _locked_run(engine, run)
    except SQLAlchemyError as exc:
        raise database_error(exc, describe(engine)) from None
    finally:
        engine.dispose()


def _locked_run(engine: Engine, run: RunContext) -> RunReport:
    run_id, started = runs.start(engine, run.trigger, lambda after: run.clock.iso(after=after))
    try:
        run.client.preflight()
        return _extract_and_load(engine, run, run_id, started)
    except BaseException as exc:
        error = database_error(exc, describe(engine)) if isinstance(exc, SQLAlchemyError) else exc
        message = run.client.redact(error_line(error))
        runs.fail(engine, run_id, run.clock.iso(), message, run.requests)
        if isinstance(error, EtlError):
            failed = type(error)(message)
            failed.run_id = run_id  # type: ignore[attr-defined]  # for the notifications of a failed run
            raise failed from None
        if isinstance(error, Exception):
            raise LoadError(message) from exc
        raise


def _previous_state(engine: Engine) -> tuple[set[str], dict[tuple[str, str, str], int]]:
    """Providers seen and not retired, and each listing's last complete item count (for the shrink rule)."""
    with engine.connect() as conn:
        seen = {r[0] for r in conn.execute(text("SELECT provider FROM providers WHERE retired_run IS NULL"))}
        rows = conn.execute(
            text(
                """SELECT source, "partition", sort, items FROM run_sources WHERE id IN
                   (SELECT MAX(id) FROM run_sources WHERE complete = 1 AND kind = 'catalog'
                    GROUP BY source, "partition", sort)"""
            )
        )
        counts = {(r[0], r[1], r[2]): int(r[3]) for r in rows}
    return seen, counts


def _stage_router(
    client: HubClient, loader: Loader, max_reject_ratio: float
) -> tuple[dict[int, bytes], set[str], dict[str, Any]]:
    """Stream the router's offers into staging; keep only each model's 8-byte digest (its fingerprint's salt)."""
    row: dict[str, Any] = {
        "source": "router",
        "partition": "{}",
        "sort": "",
        "pages": 0,
        "items": 0,
        "complete": 0,
        "capped": 0,
        "estimated_total": None,
        "error": None,
        "kind": "router",
        "parent": None,
        "reached": None,
        "proven": 0,
        "shrunk": 0,
        "requests": 1,
    }
    salts: dict[int, bytes] = {}
    providers: set[str] = set()
    rejects_before = loader.rejects
    # A list read whole (msgspec.Raw entries, at most ROUTER_AT_ONCE bytes) and not too long also stays in memory
    # by model: the transform then finds a model's offers in a dict, not in staging.
    held: dict[str, tuple[Offer, ...]] | None = {}
    unread: list[str | None] = []  # the model ids of rejected entries (None: an entry without one)
    try:
        for entry in client.router_models():
            try:
                model_id, offers = parse_offers(entry)
                checks.check_offers(model_id, offers)
                if hash(model_id) in salts:  # staged once: a second entry would break the staging table's key
                    raise RejectItem(f"router entry {model_id}: listed again (the first entry is kept)")
            except RejectItem as exc:
                item = loaded(entry)
                loader.add_reject("router", item, checks.printable(str(exc)), in_catalog=False)
                unread.append(id_of(item.get("id"), None) if isinstance(item, dict) else None)  # no legacy modelId
                continue
            loader.stage_offers(model_id, offers)
            salts[hash(model_id)] = router_salt(offers)
            providers.update(o.provider for o in offers)
            if held is not None and isinstance(entry, msgspec.Raw) and len(held) < OFFERS_HELD:
                held[model_id] = offers
            else:
                held = None  # streamed, or too long: staging serves the offers
    except HubError as exc:
        row["error"] = str(exc)
        log.warning("router: %s", exc)
        _keep_stored_offers(loader, salts)
        loader.merge_offers(router_complete=False)
        return salts, providers, row
    loader.flush_offers()
    rejected = loader.rejects - rejects_before
    if rejected > max_reject_ratio * (len(salts) + rejected):  # a changed shape: absent offers prove nothing
        row["error"] = (
            f"{rejected} of {len(salts) + rejected} router entries rejected "
            f"(more than history.max_reject_ratio = {max_reject_ratio:g}); see the rejects table"
        )
    elif None in unread:  # it could be any model's entry: no offer missing from the list is proven gone
        row["error"] = f"{unread.count(None)} router entries without a model id; see the rejects table"
    if row["error"]:
        log.warning("router: %s", row["error"])
        _keep_stored_offers(loader, salts)
        loader.merge_offers(router_complete=False)
        return salts, providers, row
    # A rejected entry is bad input, not an absence: its model keeps its stored offers (and so its record), as if
    # the list had delivered them. A later duplicate of a staged entry changes nothing. Their providers are not
    # added to what the list offers: stored offers say nothing of which providers the router serves today.
    kept = sorted({m for m in unread if m is not None and hash(m) not in salts})
    for i in range(0, len(kept), 500):
        for model_id, offers in loader.stage_stored_offers(kept[i : i + 500]):
            salts[hash(model_id)] = router_salt(offers)
            if held is not None:
                held[model_id] = offers
    row.update(pages=1, items=len(salts), complete=1, proven=1)
    loader.merge_offers(router_complete=True)
    if held is not None:
        loader.hold_offers(held)
    return salts, providers, row


def _keep_stored_offers(loader: Loader, salts: dict[int, bytes]) -> None:
    """A router list not read whole: models it did not deliver keep their stored offers, and so their records."""
    for model_id, offers in loader.stage_stored_offers():
        if hash(model_id) not in salts:
            salts[hash(model_id)] = router_salt(offers)


def _extract_and_load(engine: Engine, run: RunContext, run_id: int, started: str) -> RunReport:
    config, client = run.config, run.client
    seen_providers, last_counts = _previous_state(engine)
    with engine.connect() as conn:
        loader = Loader(conn, At(run_id, started), config.history)
        loader.create_staging()
        # The listings start at once; their pages wait for the stored fingerprints and the router's digests (which
        # every fingerprint includes) while this thread reads the router's list. Providers only that list names
        # get their partitions when it is read.
        parse = Parser(waiting=True)
        extractor = Extractor(client, config, extra_providers=seen_providers, last_counts=last_counts, parse=parse)
        try:
            extractor.start()
            known_fingerprints = loader.known_fingerprints()
            salts, router_providers, router_row = _stage_router(client, loader, config.history.max_reject_ratio)
            parse.settle(known_fingerprints, salts)
            # Gone-looking providers: unknown to huggingface_hub and missing from the router's complete list.
            known = set(known_providers())
            extractor.retiring = set() if not router_row["complete"] else seen_providers - known - router_providers
            extractor.add_providers(router_providers)
            staged = _stage_all(extractor, loader, run.progress)
        finally:
            extractor.close()
        report = extractor.report
        if client.breaker.tripped:
            raise HubUnreachable(f"the Hub stopped answering mid-run: {client.breaker.tripped}")
        _fail_if_nothing_worked(report, router_row)
        merge_input = _merge_input(config, report, bool(router_row["complete"]), router_providers, extractor.retiring)
        drift = _reject_drift(loader, staged, config.history.max_reject_ratio)
        # The Hub changed shape, or sent catalog items without an id (each could be any model, with any mapping):
        # absences (and so misses, of models and of mappings) prove nothing this run.
        if drift or loader.anonymous_rejects:
            merge_input.catalog_proven, merge_input.proven_providers = False, set()
        if not merge_input.catalog_proven:
            merge_input.providers_absent = set()  # unprovable absences retire no provider either
        merge_input.run_sources = [router_row, *(_run_source_row(lst) for lst in report.listings)]
        counts = loader.merge(merge_input)
        finished = run.clock.iso(after=started)
        incomplete = report.incomplete + ([f"router: {router_row['error']}"] if router_row["error"] else [])
        incomplete += [drift] if drift else []
        if loader.anonymous_rejects:
            incomplete.append(f"{loader.anonymous_rejects} catalog items without an id: absences unprovable this run")
        outcome = runs.RunOutcome(run.requests, loader.rejects, incomplete)
        status = runs.finish(conn, run_id, finished, counts, outcome)
        _pause_for_fault_tests()
        conn.commit()
    _roll_up_metrics(engine, config, started)
    return RunReport(
        run_id, status, started, finished, run.requests, counts, loader.rejects, incomplete, report.listings
    )


def _roll_up_metrics(engine: Engine, config: Config, started: str) -> None:
    """Metrics past [history] keep_run_metrics_days become one per model per day; never fails a committed run."""
    now = parse_stamp(started)
    try:
        removed = prune(engine, config.history.keep_run_metrics_days, now, recent_only=True)
    except SQLAlchemyError as exc:
        log.warning("metric roll-up skipped (the run is committed; `hfsnap db prune` retries it): %s", exc)
        return
    if removed:
        log.info("rolled up metrics older than %d days: %d rows", config.history.keep_run_metrics_days, removed)


def reject_ratio(accepted: int, rejects: int) -> float:
    """The share of the records a run received that it rejected (what history.max_reject_ratio bounds)."""
    return rejects / (accepted + rejects) if accepted + rejects else 0.0


def _reject_drift(loader: Loader, accepted: int, limit: float) -> str | None:
    """Why the run must end partial because too much of what it received was rejected, or None."""
    rejects = loader.rejects
    ratio = reject_ratio(accepted, rejects)
    if ratio <= limit:
        return None
    kind, count, example = _top_reject(loader.staged_rejects())
    return (
        f"{rejects} of {accepted + rejects} records rejected ({ratio:.1%} > history.max_reject_ratio = {limit:g}): "
        f"most often {kind!r} ({count}x, e.g. {example or 'an item without an id'}); "
        "nothing was retired or marked changed on their account"
    )


def _top_reject(rejects: list[tuple[str, str | None]]) -> tuple[str, int, str | None]:
    """The most common reject reason of a run (provider names and the like folded), its count and an example id."""
    tally: Counter[str] = Counter()
    example: dict[str, str | None] = {}
    for reason, model_id in rejects:
        kind = _REASON_DETAIL.sub("[*]", reason)
        tally[kind] += 1
        if example.get(kind) is None:
            example[kind] = model_id
    if not tally:
        return "unknown", 0, None
    kind, count = tally.most_common(1)[0]
    return kind, count, example[kind]


_REASON_DETAIL = re.compile(r"\[[^\]]*\]")


def _fail_if_nothing_worked(report: ExtractionReport, router_row: dict[str, Any]) -> None:
    """A Hub that answered no listing at all is a failed run (exit 1), not a partial one."""
    if report.listings and all(lst.error and not lst.capped for lst in report.listings):
        first = report.listings[0].error or "unknown error"
        raise HubError(f"the Hub answered no listing: {first}")


def _pause_for_fault_tests() -> None:
    """HFSNAP_PAUSE_BEFORE_COMMIT=N: sleep with the whole load done but uncommitted (the SIGKILL test's window)."""
    seconds = os.environ.get("HFSNAP_PAUSE_BEFORE_COMMIT")
    if seconds:
        print(
            f"hfsnap: load done, pausing {seconds}s before commit (HFSNAP_PAUSE_BEFORE_COMMIT)",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(float(seconds))


def _stage_all(extractor: Extractor, loader: Loader, progress: Callable[[int], None] | None) -> int:
    """Dedupe by id across listings; transform only models whose fingerprint moved; stage in batches.

    Two steps a page, one page apart: a page's changed models have their router offers looked up, then the
    previous page is transformed with its offers and staged.
    """
    staged = 0  # distinct models accepted: the reject ratio's other half
    parse = extractor.parse
    top_only: set[str] = set()  # first seen by a `top` source: promoted if a catalog listing shows it too
    pending: dict[bool, tuple[list[Seen], list[ModelRow]]] = {True: ([], []), False: ([], [])}
    promoted: list[str] = []
    waiting: _ToTransform | None = None
    salts = extractor.parse.salts
    for batch in extractor.run():
        in_catalog = batch.listing.kind != "top"
        source = batch.listing.source
        facts = pending[in_catalog][0]
        todo: list[HubModel] = []
        for entry in batch.items:
            model_id = entry.model_id
            if model_id is None:  # no id, so no dedupe: it could be any model (and no listing counted it)
                if isinstance(entry, Reject):  # always: only a Reject can lack an id
                    loader.add_reject(source, entry.item, entry.reason, in_catalog)
                continue
            # Once per model and run: a later listing's copy (read light as Again once this one is taken) only
            # promotes it.
            if isinstance(entry, Again) or not parse.take(hash(model_id)):
                if in_catalog and model_id in top_only:
                    top_only.discard(model_id)
                    promoted.append(model_id)
                continue
            if isinstance(entry, Reject):
                loader.add_reject(source, entry.item, entry.reason, in_catalog, model_id)
                continue
            if not in_catalog:
                top_only.add(model_id)  # only a checked id may be promoted (and so written) later
            if isinstance(entry, Known):
                facts.append(entry.seen)  # unchanged since its last transform: only this run's counters are new
                continue
            if entry.problems:  # some mapping entries were left out: say so; the rest of the item loads
                loader.add_reject(source, entry.raw, checks.printable("; ".join(entry.problems)), in_catalog, model_id)
            todo.append(entry)
        served = [m.model_id for m in todo if hash(m.model_id) in salts]
        if waiting is not None:
            _transform(waiting, pending)
        waiting = _ToTransform(todo, loader.offers_for(served) if served else None, in_catalog) if todo else None
        for flag, (facts_, rows_) in pending.items():
            if len(facts_) >= BATCH:
                staged += len(facts_)
                loader.stage(facts_, rows_, flag)
                pending[flag] = ([], [])
        if progress:
            progress(len(parse.taken))
    if waiting is not None:
        _transform(waiting, pending)
    for flag, (facts, rows) in pending.items():
        staged += len(facts)
        loader.stage(facts, rows, flag)
    loader.mark_catalog(promoted)
    return staged


@dataclass
class _ToTransform:
    """A page's models whose fingerprint moved, waiting for their router offers."""

    todo: list[HubModel]
    offers: Future[dict[str, tuple[Offer, ...]]] | None
    in_catalog: bool


def _transform(page: _ToTransform, pending: dict[bool, tuple[list[Seen], list[ModelRow]]]) -> None:
    offers = page.offers.result() if page.offers is not None else {}
    facts, rows = pending[page.in_catalog]
    for model in page.todo:
        rows.append(to_row(model, offers.get(model.model_id, ())))
        facts.append(model.seen)


def _merge_input(
    config: Config,
    report: ExtractionReport,
    router_complete: bool,
    router_providers: set[str],
    retiring: set[str] | None = None,
) -> MergeInput:
    catalog_sources = [s for s in config.sources if s.is_catalog]
    catalog_proven = bool(catalog_sources) and all(report.source_proven(s.name) for s in catalog_sources)
    # Only a source that is nothing but a provider fan-out proves a provider's absences.
    proven: set[str] = set()
    for s in catalog_sources:
        if not (s.pipeline_tag or s.author or s.search or s.filter):
            proven |= report.proven_providers(s.name)
    known = set(known_providers())
    ids = report.providers_seen | router_providers
    ids |= {p for (_, p), node in report.roots.items() if node.primary.items}
    # An id no backend can store was rejected: its rank stays empty rather than failing the run.
    rankings = [
        (lst.source, lst.sort, rank, m)
        for lst in report.listings
        if lst.kind == "top"
        for rank, m in enumerate(lst.ranking, 1)
        if checks.storable_id(m) is not None
    ]
    # A provider id no backend can store came only with rejected mappings: it is nobody's provider.
    proven, ids = {p for p in proven if checks.storable_provider(p)}, {p for p in ids if checks.storable_provider(p)}
    # Gone: a retiring provider that no mapping of this (proven) catalog names and no listing found a model for.
    absent = {p for p in (retiring or set()) - ids if p in proven} if catalog_proven else set()
    return MergeInput(
        catalog_proven, proven, router_complete, {p: p in known for p in ids}, rankings, providers_absent=absent
    )


def _run_source_row(lst: Listing) -> dict[str, Any]:
    return {
        "source": lst.source,
        "partition": lst.partition,
        "sort": lst.sort,
        "pages": lst.pages,
        "items": lst.items,
        "complete": int(lst.complete),
        "capped": int(lst.capped),
        "estimated_total": lst.estimated_total,
        "error": lst.error,
        "kind": lst.kind,
        "parent": lst.parent,
        "reached": lst.reached,
        "proven": int(lst.proven),
        "shrunk": int(lst.shrunk),
        "requests": lst.pages + lst.probes,
    }
