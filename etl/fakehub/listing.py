"""GET /api/models semantics: parameter parsing, filtering + ordering (cached per catalog version), keyset cursors."""

from __future__ import annotations

import base64
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from .catalog import Catalog
from .vocab import EXPAND_KEYS, SORT_KEYS

CAP_TOTAL = 1000  # capped mode: a filtered listing ends after this many items
_TRUE = frozenset({"true", "True", "1"})
_NUM = re.compile(r"(\d+(?:\.\d+)?)\s*([KMBT]?)", re.IGNORECASE)
_MULT = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}


class BadRequest(Exception):
    """A client error the Hub answers with 400 `{"error": message}`."""


@dataclass(frozen=True)
class Query:
    """What selects and orders a listing: everything but cursor, limit and the item shape (so it keys the cache)."""

    sort: str = "trendingScore"
    search: str | None = None
    author: str | None = None
    filters: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    gated: bool | None = None
    providers: frozenset[str] = frozenset()  # raw inference_provider tokens; "all" = any mapping entry
    warm: bool = False
    min_params: int | None = None
    max_params: int | None = None

    @property
    def filtered(self) -> bool:
        """Any filter at all (what capped mode caps)."""
        return bool(
            self.search
            or self.author
            or self.filters
            or self.pipeline_tag
            or self.gated is not None
            or self.providers
            or self.warm
            or self.min_params is not None
            or self.max_params is not None
        )


@dataclass(frozen=True)
class View:
    """Which keys each returned item carries."""

    full: bool = False
    expand: tuple[str, ...] = ()
    config: bool = False
    card_data: bool = False


@dataclass(frozen=True)
class Request:
    query: Query
    view: View
    limit: int
    cursor: str | None
    sort_given: bool


def parse(pairs: Iterable[tuple[str, str]], page_max: int) -> Request:
    """Parse /api/models query pairs the way the Hub does; raises BadRequest for what the Hub rejects."""
    sort, sort_given = "trendingScore", False
    search = author = pipeline_tag = cursor = None
    filters: list[str] = []
    providers: list[str] = []
    expand: list[str] = []
    gated: bool | None = None
    warm = full = config = card_data = False
    limit = page_max
    min_p = max_p = None
    for key, value in pairs:
        if key == "sort":
            if value not in SORT_KEYS:
                raise BadRequest(f"Invalid sort parameter {value!r}: must be one of {', '.join(SORT_KEYS)}")
            sort, sort_given = value, True
        elif key == "search":
            search = value.lower() or None
        elif key == "author":
            author = value or None
        elif key == "filter":
            filters.extend(v for v in value.split(",") if v)
        elif key == "pipeline_tag":
            pipeline_tag = value or None
        elif key == "gated":
            if value.lower() not in ("true", "false"):
                raise BadRequest(f"Invalid gated parameter {value!r}: must be true or false")
            gated = value.lower() == "true"
        elif key == "inference_provider":
            providers.extend(v.strip() for v in value.split(",") if v.strip())
        elif key == "inference":
            if value != "warm":
                raise BadRequest(f"Invalid inference parameter {value!r}: must be warm")
            warm = True
        elif key == "num_parameters":
            min_p, max_p = parse_num_parameters(value)
        elif key == "limit":
            try:
                limit = int(value)
            except ValueError:
                raise BadRequest(f"Invalid limit {value!r}") from None
            if limit < 1:
                raise BadRequest(f"Invalid limit {value!r}: must be >= 1")
            limit = min(limit, page_max)  # the Hub clamps page size rather than rejecting it
        elif key == "full":
            full = value in _TRUE
        elif key == "config":
            config = value in _TRUE
        elif key == "cardData":
            card_data = value in _TRUE
        elif key in ("expand", "expand[]"):
            if value not in EXPAND_KEYS:
                raise BadRequest(f"Invalid expand parameter {value!r}")
            if value not in expand:
                expand.append(value)
        elif key == "cursor":
            cursor = value
        elif key == "direction":
            if value.strip() != "-1":  # the Hub refuses ascending order (huggingface_hub#3630)
                raise BadRequest(f"Invalid direction parameter {value!r}: only descending order (-1) is supported")
        # anything else (offset, apps, ...) is ignored, like the Hub ignores unknown params
    if expand and (full or config or card_data):
        raise BadRequest("expand cannot be combined with full, config or cardData")
    query = Query(sort, search, author, tuple(filters), pipeline_tag, gated, frozenset(providers), warm, min_p, max_p)
    return Request(query, View(full, tuple(expand), config, card_data), limit, cursor, sort_given)


def parse_num_parameters(value: str) -> tuple[int | None, int | None]:
    """`min:6B,max:128B` / `min:X` / `max:Y` (K M B T suffixes, inclusive) -> (min, max)."""
    lo = hi = None
    for part in value.split(","):
        key, sep, raw = part.strip().partition(":")
        m = _NUM.fullmatch(raw.strip()) if sep else None
        if key not in ("min", "max") or m is None:
            raise BadRequest(f"Invalid num_parameters {value!r}: expected e.g. min:6B,max:128B")
        number = int(float(m.group(1)) * _MULT[m.group(2).upper()])
        if key == "min":
            lo = number
        else:
            hi = number
    return lo, hi


# ---------------------------------------------------------------------------------------------- selection
def select(catalog: Catalog, q: Query) -> list[str]:
    """Ids matching `q` in listing order. O(N); callers cache it (see ListingCache)."""
    order = catalog.ordering(q.sort)
    if not q.filtered:
        return order  # the shared per-version ordering itself: unfiltered listings cost nothing extra
    allowed: frozenset[str] | set[str] | None = None
    if q.providers:
        if "all" in q.providers:
            allowed = catalog.served()
        else:
            allowed = set().union(*(catalog.provider_ids(p) for p in q.providers))
    if q.warm:
        warm = catalog.warm_ids()
        allowed = warm if allowed is None else allowed & warm
    preds = _predicates(q)
    models = catalog.models
    if not preds:
        return [m for m in order if m in allowed] if allowed is not None else order
    if allowed is not None:
        return [m for m in order if m in allowed and all(p(m, models[m]) for p in preds)]
    return [m for m in order if all(p(m, models[m]) for p in preds)]


def _predicates(q: Query) -> list[Callable[[str, dict[str, Any]], bool]]:
    preds: list[Callable[[str, dict[str, Any]], bool]] = []
    if q.search:
        needle = q.search
        preds.append(lambda mid, it: needle in mid.lower())
    if q.author:
        author = q.author
        preds.append(lambda mid, it: it.get("author", mid.partition("/")[0]) == author)
    for f in q.filters:  # ANDed; a filter matches a tag, the pipeline tag or the library

        def by_filter(mid: str, it: dict[str, Any], f: str = f) -> bool:
            return f in (it.get("tags") or ()) or it.get("pipeline_tag") == f or it.get("library_name") == f

        preds.append(by_filter)
    if q.pipeline_tag:
        tag = q.pipeline_tag
        preds.append(lambda mid, it: it.get("pipeline_tag") == tag)
    if q.gated is not None:
        want = q.gated
        preds.append(lambda mid, it: (it.get("gated") not in (False, None)) == want)
    if q.min_params is not None or q.max_params is not None:
        lo = q.min_params if q.min_params is not None else 0
        hi = q.max_params if q.max_params is not None else float("inf")
        preds.append(lambda mid, it: _params_in(it, lo, hi))
    return preds


def _params_in(item: dict[str, Any], lo: float, hi: float) -> bool:
    st = item.get("safetensors")
    total = st.get("total") if isinstance(st, dict) else None
    return isinstance(total, int) and lo <= total <= hi  # no safetensors -> never matches


class ListingCache:
    """Small LRU of selected id lists keyed by (catalog identity, version, query): deep pages cost O(page)."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._data: OrderedDict[tuple[int, int, Query], list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, catalog: Catalog, q: Query) -> list[str]:
        key = (id(catalog), catalog.version, q)
        with self._lock:
            ids = self._data.get(key)
            if ids is not None:
                self._data.move_to_end(key)
                return ids
        ids = select(catalog, q)  # computed outside the lock; a concurrent duplicate computation is harmless
        with self._lock:
            self._data[key] = ids
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return ids


# ---------------------------------------------------------------------------------------------- cursors
def encode_cursor(offset: int, sort: str, value: Any, object_id: str) -> str:
    """Opaque token; like the Hub's, it carries the keyset position (sort value, _id), plus an offset hint."""
    raw = orjson.dumps([offset, sort, value, object_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, sort: str) -> tuple[int, Any, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        offset, csort, value, object_id = orjson.loads(raw)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadRequest("Invalid cursor") from None
    if not isinstance(offset, int) or offset < 0 or csort != sort or not isinstance(object_id, str):
        raise BadRequest("Invalid cursor")
    return offset, value, object_id


def resume(catalog: Catalog, ids: list[str], sort: str, token: str) -> int:
    """Index of the first id after the cursor position: O(1) when nothing moved, a keyset scan otherwise."""
    offset, value, object_id = decode_cursor(token, sort)
    models = catalog.models
    if 0 < offset <= len(ids):
        prev = models.get(ids[offset - 1])
        if prev is not None and prev.get("_id") == object_id and prev.get(sort) == value:
            return offset
    # The catalog changed since the cursor was issued: continue after (value, _id) in the current order, as the
    # Hub's `{"$or": [{sort: v, _id: {$gt: id}}, {sort: {$lt: v}}, {sort: null}]}` query would.
    for index, mid in enumerate(ids):
        item = models[mid]
        if _after(item.get(sort), item.get("_id", ""), value, object_id):
            return index
    return len(ids)


def _after(v: Any, oid: str, cv: Any, cid: str) -> bool:
    if cv is None:
        return v is None and oid > cid
    if v is None:
        return True
    try:
        return v < cv or (v == cv and oid > cid)
    except TypeError:  # a value edited to another type: keep it in place rather than crash
        return False
