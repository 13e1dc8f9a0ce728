"""Catalog: the mutable in-memory Hub state the fake serves, plus derived indexes rebuilt per catalog version."""

from __future__ import annotations

import threading
import zlib
from typing import Any, Final

from .vocab import SORT_KEYS


class _Delete:
    """Sentinel: `catalog.update(mid, pipeline_tag=DELETE)` makes a key absent (the Hub omits unknown fields)."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE: Final = _Delete()


class Catalog:
    """Models (full items, list-form mapping), router entries and router health, with a version bumped by every mutator.

    Generated items share many values (tag lists, siblings, cardData, config dicts) to stay compact: treat item
    values as immutable and replace them through `update`/`set_mapping` (or edit then call `touch()`).
    """

    DELETE: Final = DELETE

    def __init__(self) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.router: dict[str, list[dict[str, Any]]] = {}
        self.health: dict[tuple[str, str], str] = {}
        self.version: int = 0
        self._lock = threading.RLock()
        # Derived data, valid for one version only; rebuilt lazily on first use after a change.
        self._derived_version = -1
        self._orders: dict[str, list[str]] = {}
        self._public: list[str] = []
        self._by_id: list[int] = []  # indexes into _public, ordered by _id
        self._columns: dict[str, list[Any]] = {}
        self._served: frozenset[str] = frozenset()
        self._by_provider: dict[str, frozenset[str]] = {}
        self._warm: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ mutators (each bumps version)
    def put(self, item: dict[str, Any]) -> None:
        """Add or replace a model from a full item; fills `_id`, `modelId` and an empty mapping when missing."""
        mid = item["id"]
        item.setdefault("_id", f"{zlib.crc32(mid.encode()):08x}{zlib.adler32(mid.encode()):08x}{len(mid):08x}")
        item.setdefault("modelId", mid)
        item.setdefault("inferenceProviderMapping", [])
        with self._lock:  # mutators hold the lock so an index rebuild never iterates a dict mid-change
            self.models[mid] = item
            self.touch()

    def remove(self, model_id: str) -> None:
        """Delete a model with its router entries and health pairs."""
        with self._lock:
            self.models.pop(model_id, None)
            self.router.pop(model_id, None)
            for pair in [p for p in self.health if p[0] == model_id]:
                del self.health[pair]
            self.touch()

    def update(self, model_id: str, **fields: Any) -> None:
        """Set top-level fields (`DELETE` removes one); a new mapping goes through `set_mapping` rules."""
        with self._lock:
            item = self.models[model_id]
            mapping = fields.pop("inferenceProviderMapping", None)
            for key, value in fields.items():
                if value is DELETE:
                    item.pop(key, None)
                else:
                    item[key] = value
            if mapping is not None:
                self.set_mapping(model_id, mapping)
            self.touch()

    def set_mapping(self, model_id: str, mapping: list[dict[str, Any]]) -> None:
        """Replace a model's list-form provider mapping; `inference` follows it ("warm" iff any live entry)."""
        with self._lock:
            item = self.models[model_id]
            item["inferenceProviderMapping"] = list(mapping)
            if any(e.get("status") == "live" for e in mapping):
                item["inference"] = "warm"
            else:
                item.pop("inference", None)
            self.touch()

    def set_router(self, model_id: str, entries: list[dict[str, Any]]) -> None:
        """Replace the router provider entries of a model (empty list removes it from /v1/models)."""
        with self._lock:
            if entries:
                self.router[model_id] = list(entries)
            else:
                self.router.pop(model_id, None)
            self.touch()

    def touch(self) -> None:
        """Bump the version so every cache keyed on it is rebuilt (call after editing items in place)."""
        with self._lock:
            self.version += 1

    # ------------------------------------------------------------------ queries
    def served_ids(self) -> set[str]:
        """Public ids with >= 1 mapping entry of any status: exactly what `inference_provider=all` lists."""
        return set(self._derived()[0])

    def served(self) -> frozenset[str]:
        """Like served_ids() but the cached frozenset itself (no copy; for the app's hot path)."""
        return self._derived()[0]

    def provider_ids(self, provider: str) -> frozenset[str]:
        """Public ids having a mapping entry for `provider` (any status)."""
        return self._derived()[1].get(provider, frozenset())

    def warm_ids(self) -> frozenset[str]:
        """Public ids whose item says `inference: "warm"`."""
        return self._derived()[2]

    def ordering(self, sort: str) -> list[str]:
        """Public ids by `sort` descending, ties by `_id` ascending, missing/null values last. Do not mutate."""
        if sort not in SORT_KEYS:
            raise ValueError(f"unknown sort {sort!r}")
        with self._lock:
            self._derived()
            order = self._orders.get(sort)
            if order is None:
                order = self._orders[sort] = self._sort_by(sort)
            return order

    # ------------------------------------------------------------------ derived data
    def _derived(self) -> tuple[frozenset[str], dict[str, frozenset[str]], frozenset[str]]:
        with self._lock:
            if self._derived_version != self.version:
                self._rebuild()
            return self._served, self._by_provider, self._warm

    def _rebuild(self) -> None:
        """One pass over the items (each is touched once: at 1M models memory access dominates, not CPU)."""
        served: list[str] = []
        warm: list[str] = []
        by_provider: dict[str, list[str]] = {}
        public: list[str] = []
        object_ids: list[str] = []
        columns: dict[str, list[Any]] = {key: [] for key in SORT_KEYS}
        # Bound appends, unrolled per sort key: this loop runs once per model per catalog version.
        add_public, add_oid, add_served, add_warm = public.append, object_ids.append, served.append, warm.append
        add_dl, add_likes, add_trend, add_created, add_modified = (columns[k].append for k in SORT_KEYS)
        for mid, item in self.models.items():
            get = item.get
            if get("private"):
                continue  # private repos are never listed
            add_public(mid)
            add_oid(get("_id") or "")
            add_dl(get("downloads"))
            add_likes(get("likes"))
            add_trend(get("trendingScore"))
            add_created(get("createdAt"))
            add_modified(get("lastModified"))
            mapping = get("inferenceProviderMapping")
            if mapping and isinstance(mapping, list):
                add_served(mid)
                for entry in mapping:
                    prov = entry.get("provider") if isinstance(entry, dict) else None
                    if prov is not None:
                        ids = by_provider.get(prov)
                        if ids is None:
                            ids = by_provider[prov] = []
                        ids.append(mid)
            if get("inference") == "warm":
                add_warm(mid)
        self._served = frozenset(served)
        self._warm = frozenset(warm)
        self._by_provider = {p: frozenset(ids) for p, ids in by_provider.items()}
        self._public = public
        self._columns = columns
        # Generated catalogs are inserted in _id order, so this sort is a near-linear pass.
        self._by_id = sorted(range(len(public)), key=object_ids.__getitem__)
        self._orders = {}
        self._derived_version = self.version

    def _sort_by(self, key: str) -> list[str]:
        column = self._columns[key]
        have = [i for i in self._by_id if column[i] is not None]
        missing = [i for i in self._by_id if column[i] is None]
        try:
            # reverse=True keeps the stable (_id ascending) order among equal values.
            have.sort(key=column.__getitem__, reverse=True)
        except TypeError:  # a field edited to a mixed type: order numbers, then strings, then anything else
            have.sort(key=lambda i: _sortable(column[i]), reverse=True)
        public = self._public
        return [public[i] for i in have] + [public[i] for i in missing]


def _sortable(value: Any) -> tuple[int, Any]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (2, value)
    if isinstance(value, str):
        return (1, value)
    return (0, repr(value))
