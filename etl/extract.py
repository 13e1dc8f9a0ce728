"""Sources -> partitions -> listings: follow cursors, detect the 1000-item cap, bust it, prove completeness."""

from __future__ import annotations

import itertools
import logging
import math
import queue
import re
import threading
import typing
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .config import SORT_KEYS, Config, SourceConfig
from .errors import CursorLoop, HubError, HubRejected, HubStatus, NoProgress
from .hub import HubClient
from .records import Again, HubModel, Known, Parser, Reject, canonical_json, to_model
from .wire import raw_item_id

log = logging.getLogger("hfsnap.extract")

# Every field the gateway record and the history tables need, and nothing heavier.
EXPAND = (
    "author",
    "createdAt",
    "lastModified",
    "gated",
    "private",
    "downloads",
    "downloadsAllTime",
    "likes",
    "trendingScore",
    "tags",
    "pipeline_tag",
    "library_name",
    "safetensors",
    "inferenceProviderMapping",
)
PRIMARY_SORT = "createdAt"  # never changes, so the keyset cursor neither skips nor repeats
SUMMARY_LIMIT = 10_000  # per listing: enough to plan a split of any capped listing
ID_LIMIT = 50_000  # per listing: distinct ids tracked exactly; a listing this long is no cap candidate
MAX_DEPTH = 6
NO_PROGRESS_PAGES = 3
# Provider ids huggingface_hub knows but the Hub never maps: their mapping is synthesized by the client
# (hub-api.md section 5), so a listing of them is empty at best and a 400 at worst.
CLIENT_ONLY = frozenset({"openai"})
PROBE_SORT = "downloads"  # the order a full last page is checked against (see Extractor._confirm_end)
_UNKNOWN_PROVIDER = re.compile(r"unknown|invalid|not (?:a )?(?:known|valid|supported)", re.IGNORECASE)
_UNITS = ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K"))


def known_providers() -> tuple[str, ...]:
    """Provider ids huggingface_hub knows (its PROVIDER_T literal)."""
    try:
        from huggingface_hub.inference._providers import PROVIDER_T

        return tuple(typing.get_args(PROVIDER_T))
    except Exception:  # an older or newer huggingface_hub: the router and mappings still name providers
        return ()


def round_count(n: int) -> int:
    """A parameter count rounded to two significant digits: what the documented `6B`/`5900M` form expresses."""
    if n < 100:
        return max(0, n)
    step: int = 10 ** (len(str(n)) - 2)
    return max(step, round(n / step) * step)


def format_count(n: int) -> str:
    """`5900000000` -> `5900M`, `7000000000` -> `7B` (the num_parameters syntax of hub-api.md, min:6B,max:128B)."""
    for unit, suffix in _UNITS:
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def partition_key(filters: dict[str, Any]) -> str:
    """Canonical JSON of a partition's filters: what run_sources stores and shrink checks compare."""
    return canonical_json(filters).decode()


@dataclass
class Listing:
    """One paged listing: a partition under one sort order, and what became of it."""

    source: str
    filters: dict[str, Any]
    sort: str
    kind: str  # catalog | top | discovery
    top: int | None = None
    depth: int = 0
    parent: str | None = None
    pages: int = 0
    probes: int = 0  # requests that checked a full last page (see Extractor._confirm_end)
    requests: int = 0
    items: int = 0
    complete: bool = False
    capped: bool = False
    shrunk: bool = False
    provider_unknown: bool = False  # the Hub answered 400 naming the partition's provider as unknown
    error: str | None = None
    estimated_total: int | None = None
    reached: int | None = None
    proven: bool = False
    ids: set[int] = field(default_factory=set, repr=False)
    ranking: list[str] = field(default_factory=list, repr=False)
    # (model id, pipeline tag, parameter count) of the first models listed: what a split of a capped listing needs
    summaries: list[tuple[str, str | None, int | None]] | None = field(default_factory=list, repr=False)
    providers_seen: set[str] = field(default_factory=set, repr=False)

    @property
    def partition(self) -> str:
        return partition_key(self.filters)

    def params(self, page_size: int) -> list[tuple[str, str]]:
        """Query parameters: limit, sort, filters, expand (repeated keys, as huggingface_hub sends them)."""
        limit = min(page_size, self.top) if self.top else page_size
        out = [("limit", str(limit)), ("sort", self.sort)]
        for key, value in sorted(self.filters.items()):
            if key == "filter":
                out += [("filter", v) for v in value]
            elif key == "gated":
                out.append(("gated", "true" if value else "false"))
            elif key == "num_parameters":
                lo, hi = value
                bounds = (f"min:{format_count(lo)}" if lo else "", f"max:{format_count(hi)}" if hi is not None else "")
                out.append(("num_parameters", ",".join(b for b in bounds if b)))
            else:
                out.append((key, str(value)))
        out += [("expand", e) for e in EXPAND]
        return out


@dataclass
class Batch:
    """One page's items, each parsed (or rejected) once, on their way to the pipeline."""

    listing: Listing
    items: list[HubModel | Known | Reject | Again]


@dataclass
class Node:
    """A partition of a catalog source: its listings (one per sort) and the parts it was split into."""

    source: str
    filters: dict[str, Any]
    depth: int
    listings: list[Listing] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    exhaustive: bool = False  # whether the split covers every model of this partition
    pending: int = 0

    @property
    def primary(self) -> Listing:
        return self.listings[0]

    def proven(self) -> bool:
        """Complete by one of its own listings, or by an exhaustive split into proven parts.

        Every listing of a node is the same partition in another order, so any one that ran to its end lists all of
        it (a primary cut short by pages that brought nothing new is proven by another order that was not).
        """
        if self.primary.complete or any(lst.complete and not lst.error for lst in self.listings[1:]):
            return True
        return self.exhaustive and bool(self.children) and all(c.proven() for c in self.children)

    def failed(self) -> bool:
        return any(lst.error and not lst.capped for lst in self.listings) or any(c.failed() for c in self.children)


@dataclass
class ExtractionReport:
    """What the run may conclude: which providers' partitions were proven, and every listing's record."""

    listings: list[Listing] = field(default_factory=list)
    roots: dict[tuple[str, str], Node] = field(default_factory=dict)  # (source, provider) -> root node
    providers_seen: set[str] = field(default_factory=set)
    failed_sources: set[str] = field(default_factory=set)

    def proven_providers(self, source: str) -> set[str]:
        return {p for (s, p), node in self.roots.items() if s == source and node.proven() and not _shrunk(node)}

    def source_proven(self, source: str) -> bool:
        nodes = [n for (s, _), n in self.roots.items() if s == source]
        return bool(nodes) and all(n.proven() and not _shrunk(n) for n in nodes) and source not in self.failed_sources

    @property
    def incomplete(self) -> list[str]:
        """Human-readable reasons the run is partial."""
        out = [
            f"{s}:{p} {'failed' if n.failed() else 'not proven complete'}"
            for (s, p), n in self.roots.items()
            if not n.proven() or _shrunk(n)
        ]
        out += [
            f"{lst.source} {lst.partition} sort={lst.sort}: {lst.error}"
            for lst in self.listings
            if lst.kind == "top" and lst.error
        ]
        return out


def _settle(node: Node) -> set[int]:
    """Write each partition's proof and reach onto its primary listing; return the ids it reached."""
    covered: set[int] = set()
    for child in node.children:
        covered |= _settle(child)
    node.primary.proven = node.proven() and not node.primary.shrunk
    sampled: set[int] = set().union(*(lst.ids for lst in node.listings))
    if node.primary.capped and sampled:
        # The sort-ordered samples recapture the split's catch: the share of sampled models that no part
        # reached estimates the share of the whole that lies outside the parts.
        outside = len(sampled - covered) / len(sampled)
        reached = len(covered | sampled)
        node.primary.reached = reached
        if covered and outside < 1:
            node.primary.estimated_total = max(reached, math.ceil(len(covered) / (1 - outside)))
    return covered | sampled


def _check_orders(node: Node) -> None:
    """A capped partition's other orders, all finished: one that ended by itself proves the partition only if it
    listed every model the partition's listings reached. One that ended short of them (a page cut short, a glitch)
    contradicts the cap: it proves nothing and says so, and the partition is split like any unproven one."""
    reached: set[int] = set().union(*(lst.ids for lst in node.listings))
    longest = max(lst.items for lst in node.listings)
    for lst in node.listings[1:]:
        if not lst.complete or lst.error:
            continue
        exact = lst.items <= len(lst.ids)  # every id it listed is tracked (below ID_LIMIT)
        missing = len(reached - lst.ids) if exact else max(0, longest - lst.items)
        if missing:
            lst.complete, lst.shrunk = False, True
            lst.error = f"ended after {lst.items} items, without {missing} models this partition's other orders listed"
            log.warning("%s sort=%s: %s", lst.partition, lst.sort, lst.error)


def _shrunk(node: Node) -> bool:
    return node.primary.shrunk


class Extractor:
    """Runs every listing of a config's sources on a thread pool and yields their pages as Batches."""

    def __init__(
        self,
        client: HubClient,
        config: Config,
        extra_providers: set[str] | None = None,
        last_counts: dict[tuple[str, str, str], int] | None = None,
        retiring: set[str] | None = None,
        parse: Parser = to_model,
    ) -> None:
        self.client = client
        self.config = config
        self.parse = parse
        self.extra_providers = set(extra_providers or ())
        # Providers that look gone (unknown to huggingface_hub, absent from a complete router list): an empty
        # listing of one of them is believed, unless some mapping still names it (see _accept_gone).
        self.retiring = set(retiring or ())
        self.offered: set[str] = set()  # providers this run's router list offers (add_providers)
        self.last_counts = last_counts or {}
        self.report = ExtractionReport()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=2)  # bounded: parsed pages wait here, memory does not grow
        self._stop = threading.Event()
        self._nodes: dict[int, Node | None] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._active = 0  # listings submitted and not yet finished

    # ---- planning -------------------------------------------------------------------------------

    def _initial(self) -> list[tuple[Listing, Node | None]]:
        out: list[tuple[Listing, Node | None]] = []
        for source in self.config.sources:
            if source.is_catalog:
                for provider in self._providers_for(source):
                    out.append(self._root(source, provider))
                if (source.inference_provider or "all") == "all" and not _source_filters(source):
                    # One page of the newest served models: finds providers nobody told us about.
                    out.append(
                        (
                            Listing(
                                source.name,
                                {"inference_provider": "all"},
                                PRIMARY_SORT,
                                "discovery",
                                top=self.config.hub.page_size,
                            ),
                            None,
                        )
                    )
        for source in self.config.sources:
            if not source.is_catalog:
                for sort in source.sorts or ("downloads",):
                    out.append((Listing(source.name, _source_filters(source), sort, "top", top=source.top), None))
        return out

    def _providers_for(self, source: SourceConfig) -> list[str]:
        """The providers to list, biggest last time first: the longest cursor chains start at once."""
        wanted = source.inference_provider or "all"
        if wanted != "all":
            names = [p.strip() for p in wanted.split(",") if p.strip()]
        else:
            names = sorted((set(known_providers()) | self.extra_providers) - CLIENT_ONLY)
        size = {key[1]: n for key, n in self.last_counts.items() if key[0] == source.name and key[2] == PRIMARY_SORT}
        return sorted(
            names, key=lambda p: -size.get(partition_key({**_source_filters(source), "inference_provider": p}), 0)
        )

    def _root(self, source: SourceConfig, provider: str) -> tuple[Listing, Node]:
        filters = {**_source_filters(source), "inference_provider": provider}
        node = Node(source.name, filters, 0)
        listing = Listing(source.name, filters, PRIMARY_SORT, "catalog")
        node.listings.append(listing)
        self.report.roots[(source.name, provider)] = node
        return listing, node

    def _follow_ups(self, listing: Listing, node: Node | None) -> list[tuple[Listing, Node | None]]:
        """What a finished listing calls for: new provider partitions, other sorts, or a split."""
        out: list[tuple[Listing, Node | None]] = []
        if listing.kind in ("catalog", "discovery"):
            for provider in sorted(listing.providers_seen):
                source = self._source(listing.source)
                if source.inference_provider in (None, "all") and (source.name, provider) not in self.report.roots:
                    log.info("new provider %r seen in a mapping: listing it too", provider)
                    out.append(self._root(source, provider))
        if node is None or listing.kind != "catalog":
            return out
        node.pending -= 1
        if listing is node.primary and listing.capped:
            for sort in SORT_KEYS:
                if sort != PRIMARY_SORT:
                    extra = Listing(node.source, node.filters, sort, "catalog", depth=node.depth, parent=listing.parent)
                    node.listings.append(extra)
                    out.append((extra, node))
        elif node.pending == 0 and node.primary.capped:
            _check_orders(node)
            if not node.children and not node.proven():
                self._estimate(node)
                out += self._split(node)
        return out

    def _estimate(self, node: Node) -> None:
        """Reach and a capture-recapture estimate across the capped sort orders (Chapman, pairwise max)."""
        sets = [lst.ids for lst in node.listings if lst.ids]
        union: set[int] = set().union(*sets) if sets else set()
        estimates = [len(union)]
        for a, b in itertools.combinations(sets, 2):
            overlap = len(a & b)
            estimates.append(int((len(a) + 1) * (len(b) + 1) / (overlap + 1) - 1))
        node.primary.reached = len(union)
        node.primary.estimated_total = max(estimates)

    def _split(self, node: Node) -> list[tuple[Listing, Node | None]]:
        """Narrower partitions: by pipeline_tag, then num_parameters ranges, then gated (the exhaustive one)."""
        if node.depth >= MAX_DEPTH:
            return []
        rows = {}
        for lst in node.listings:
            for summary in lst.summaries or ():
                rows[summary[0]] = summary
        parts, exhaustive = _split_filters(
            node.filters, list(rows.values()), node.primary.estimated_total or 0, self.config.hub.page_size
        )
        node.exhaustive = exhaustive
        out: list[tuple[Listing, Node | None]] = []
        for filters in parts:
            child = Node(node.source, filters, node.depth + 1)
            child.listings.append(
                Listing(node.source, filters, PRIMARY_SORT, "catalog", depth=child.depth, parent=node.primary.partition)
            )
            node.children.append(child)
            out.append((child.primary, child))
        return out

    def _source(self, name: str) -> SourceConfig:
        return next(s for s in self.config.sources if s.name == name)

    # ---- running --------------------------------------------------------------------------------

    def start(self) -> None:
        """Submit the listings planned so far; their pages are parsed once the parser is settled (see Parser)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.config.hub.concurrency, thread_name_prefix="listing")
            for listing, node in self._initial():
                self._submit(listing, node)

    def add_providers(self, providers: set[str]) -> None:
        """Providers learnt after start (the router's list): a partition each in every catalog source of all."""
        self.offered |= providers
        self.start()
        for source in self.config.sources:
            if source.is_catalog and (source.inference_provider or "all") == "all":
                for provider in sorted(providers - CLIENT_ONLY):
                    if (source.name, provider) not in self.report.roots:
                        self._submit(*self._root(source, provider))

    def _submit(self, listing: Listing, node: Node | None) -> None:
        assert self._pool is not None
        if node is not None:
            node.pending += 1
        self._nodes[id(listing)] = node
        self.report.listings.append(listing)
        self._pool.submit(self._run_listing, listing)
        self._active += 1

    def run(self) -> Iterator[Batch]:
        """Yield every page's items; self.report is complete once the generator is exhausted."""
        try:
            self.start()
            while self._active:
                event = self._queue.get()
                if isinstance(event, Batch):
                    yield event
                    continue
                self._active -= 1
                self._finish(event)
                for listing, node in self._follow_ups(event, self._nodes.get(id(event))):
                    self._submit(listing, node)
            self._doubt_unknown()
            self._accept_gone()
            for node in self.report.roots.values():
                _settle(node)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the listings: workers see the stop flag between pages, on a full queue and while parsing waits."""
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _finish(self, listing: Listing) -> None:
        """Shrink check against the last complete count of the same listing."""
        self.report.providers_seen |= listing.providers_seen
        if listing.complete and listing.kind == "catalog" and not listing.provider_unknown:
            last = self.last_counts.get((listing.source, listing.partition, listing.sort))
            if last and listing.items < last * self.config.history.max_shrink:
                listing.complete, listing.shrunk = False, True
                listing.error = (
                    f"shrunk from {last} to {listing.items} items "
                    f"(history.max_shrink = {self.config.history.max_shrink:g})"
                )
        if listing.error and not listing.capped and not listing.shrunk and listing.kind == "catalog":
            self.report.failed_sources.add(listing.source)  # a shrunk partition is unproven by its node
        if not listing.capped:
            listing.summaries = None  # only capped partitions need summaries (to plan a split)
            if listing.parent is None and (listing.kind != "catalog" or listing.sort == PRIMARY_SORT):
                # Parts of a split keep their ids for the parent's estimate, and the other orders of a capped
                # partition for _check_orders; free the rest.
                listing.ids = set()

    def _put(self, event: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(event, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run_listing(self, listing: Listing) -> None:
        try:
            self._page_through(listing)
        except HubStatus as exc:
            if _names_unknown_provider(listing, exc):
                # The Hub no longer knows the provider: nothing can be listed under it, which is an empty partition.
                log.info("%s: the Hub answers %s; an empty partition", listing.partition, exc)
                listing.complete = listing.provider_unknown = True
            else:
                _refused(listing, exc)
        except HubRejected as exc:
            _refused(listing, exc)
        except HubError as exc:
            listing.error = str(exc)
        except Exception as exc:  # a bug must fail the listing, not hang the run
            log.exception("listing crashed")
            listing.error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            listing.requests = listing.pages + listing.probes
            self._put(listing)

    def _page_through(self, listing: Listing) -> None:
        page_size = self.config.hub.page_size
        params = listing.params(page_size)
        limit = int(params[0][1])
        stalls = 0
        for page in self.client.iter_pages("/api/models", params):
            if self._stop.is_set():
                return
            listing.pages += 1
            if not self.parse.wait(self._stop):  # the router's digests, which fingerprints include
                return
            items = [self.parse(item) for item in page.body]  # the one place an item is read
            new = self._absorb(listing, items)
            if not self._put(Batch(listing, items)):
                return
            stalls = 0 if new else stalls + 1
            if stalls >= NO_PROGRESS_PAGES:
                raise NoProgress(f"no progress: {stalls} pages in a row brought no new model")
            if listing.top and listing.items >= listing.top:
                listing.complete = True
                return
            if page.next_url is None:
                # Ended by itself; a full last page may mean the server just stopped (the cap), or an exact multiple.
                full = len(page.body) >= limit and listing.kind != "discovery" and not listing.top
                listing.capped = full and not self._confirm_end(listing)
                listing.complete = not listing.capped
                return

    def _confirm_end(self, listing: Listing) -> bool:
        """Whether a listing that ended on a full page without a next link really ended (an exact multiple).

        One page of the same partition in another order settles it: a listing that ended already holds every model
        of that page, while a capped one misses some (another order reaches models beyond the cap). Only primary
        listings are checked; the other orders run because the primary was capped.
        """
        if listing.kind != "catalog" or listing.sort != PRIMARY_SORT or len(listing.ids) >= ID_LIMIT:
            return False
        probe = Listing(listing.source, listing.filters, PROBE_SORT, listing.kind)
        params = [p for p in probe.params(self.config.hub.page_size) if p[0] != "expand"]  # ids are enough
        listing.probes += 1
        try:
            page = next(iter(self.client.iter_pages("/api/models", params)))
        except (HubError, StopIteration):
            return False
        ids = {hash(m) for m in map(raw_item_id, page.body) if m is not None}
        ended = bool(ids) and ids <= listing.ids
        log.info("%s ends on a full page: %s", listing.partition, "an exact multiple" if ended else "capped")
        return ended

    def _doubt_unknown(self) -> None:
        """A 400 naming a partition's provider as unknown is an empty partition unless the router's list read this run
        offers that provider: the router serves through it, so the answer is a refusal, the partition failed and
        nothing it would have listed counts as absent. Mappings naming it are no such proof: old items still name
        providers the Hub dropped (hub-api.md, "Removed")."""
        for (_, provider), node in self.report.roots.items():
            primary = node.primary
            if primary.provider_unknown and provider in self.offered:
                primary.complete = primary.provider_unknown = False
                primary.error = f"the Hub answered that provider {provider!r} is unknown, yet the router offers it"
                log.warning("%s: %s", primary.partition, primary.error)
                self.report.failed_sources.add(primary.source)

    def _accept_gone(self) -> None:
        """Believe an empty listing of a provider that looks gone and that no mapping of this run names.

        Otherwise the shrink rule would hold it unproven forever (its last complete count stays), every run would
        end partial and nothing could be retired again.
        """
        for (_, provider), node in self.report.roots.items():
            primary = node.primary
            if primary.shrunk and primary.items == 0 and provider in self.retiring:
                if provider not in self.report.providers_seen:
                    log.info("provider %r: an empty listing, no mapping names it: taken as gone", provider)
                    primary.complete, primary.shrunk, primary.error = True, False, None

    def _absorb(self, listing: Listing, items: list[HubModel | Known | Reject | Again]) -> int:
        """Count distinct ids; keep what a split or a ranking needs."""
        new = 0
        for entry in items:
            model_id = entry.model_id
            if model_id is None:
                continue  # the pipeline stores the reject; it counts as nothing here
            key = hash(model_id)
            if key in listing.ids:
                continue
            if len(listing.ids) < ID_LIMIT:
                listing.ids.add(key)
            new += 1
            listing.items += 1
            if listing.kind == "top":
                if listing.items <= (listing.top or 0):
                    listing.ranking.append(model_id)
            elif listing.summaries is not None:
                if len(listing.summaries) >= SUMMARY_LIMIT:
                    listing.summaries = None
                elif not isinstance(entry, Reject):  # a rejected item's fields are not to be trusted
                    listing.summaries.append((model_id, entry.pipeline_tag, entry.num_parameters))
            listing.providers_seen.update(entry.providers)
        return new


def _refused(listing: Listing, exc: HubRejected) -> None:
    """A server that refuses to go past some page capped the listing; one that refuses the first failed it.

    A cursor loop fails the listing wherever it happens (it is a broken server, not a cap); pages that bring nothing
    new cut it short like a cap.
    """
    listing.capped = listing.pages > 0 and not isinstance(exc, CursorLoop)
    listing.error = str(exc)


def _names_unknown_provider(listing: Listing, exc: HubStatus) -> bool:
    """A 400 on the first page of a provider's partition whose text names the provider as unknown (or invalid)."""
    provider = listing.filters.get("inference_provider")
    if listing.kind != "catalog" or listing.pages or not isinstance(provider, str) or exc.status != 400:
        return False
    return provider.lower() in exc.detail.lower() and bool(_UNKNOWN_PROVIDER.search(exc.detail))


def _source_filters(source: SourceConfig) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if source.pipeline_tag:
        filters["pipeline_tag"] = source.pipeline_tag
    if source.author:
        filters["author"] = source.author
    if source.search:
        filters["search"] = source.search
    if source.filter:
        filters["filter"] = list(source.filter)
    if source.inference_provider and not source.is_catalog:
        filters["inference_provider"] = source.inference_provider
    return filters


def _split_filters(
    filters: dict[str, Any], rows: list[tuple[str, str | None, int | None]], estimate: int, page_size: int
) -> tuple[list[dict[str, Any]], bool]:
    """Child filter sets for a capped partition, and whether together they cover all of it."""
    tags = sorted({r[1] for r in rows if r[1]})
    if "pipeline_tag" not in filters and len(tags) >= 2:
        return [{**filters, "pipeline_tag": t} for t in tags], False
    values = sorted(r[2] for r in rows if r[2] is not None)
    lo, hi = filters.get("num_parameters", (0, None))
    if len(set(values)) >= 2:
        parts = max(2, math.ceil(max(estimate, len(values)) / (page_size * 0.7)))
        # Cut points rounded to what the documented suffix form expresses (two significant digits: 5900M, 7B).
        quantiles = {round_count(values[(len(values) * i) // parts]) for i in range(1, parts)}
        cuts = sorted(c for c in quantiles if c > max(lo, values[0]) and (hi is None or c < hi))
        bounds = [lo, *cuts]
        # Inclusive bounds on both sides (min:X,max:Y): neighbours share their cut value, which the dedupe by id
        # absorbs, so contiguous ranges cover every model that has a parameter count (not the ones without).
        ranges = [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)] + [(bounds[-1], hi)]
        if len(ranges) >= 2:
            return [{**filters, "num_parameters": r} for r in ranges], False
    if "gated" not in filters:
        return [{**filters, "gated": True}, {**filters, "gated": False}], True
    return [], False
