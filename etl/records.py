"""The types that cross stages, parsed once where a page is read: HubModel (and Reject) from /api/models, Offer."""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterable
from collections.abc import Mapping as Mapping_
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec
import orjson

from .checks import (
    LICENSE_MAX,
    MAPPING_STRINGS,
    MODEL_ID_MAX,
    check_counters,
    check_item,
    check_mappings,
    plain_tags,
    printable,
    storable_provider,
)
from .errors import RejectItem
from .keyset import KeySet
from .stamps import parse_stamp
from .wire import (
    SEP,
    Item,
    RouterEntry,
    as_dict,
    as_json,
    id_of,
    loaded,
    raw_item_id,
    read_card,
    read_entries,
    read_full,
    read_item,
    read_mapping,
    read_router_entry,
    read_safetensors,
    read_value,
)

GATED_VALUES = {False: "false", None: "false", "false": "false", "auto": "auto", "manual": "manual", True: "manual"}
MAPPING_STATUSES = frozenset({"live", "staging", "error"})
# Bump when transform.to_row's output (or the fingerprint's recipe) changes: every model is then transformed again.
TRANSFORM_VERSION = b"4"
NO_ID = "item without an id"
_STATUS_RANK = {"live": 0, "staging": 1, "error": 2}  # which of two entries for one provider wins
_REQUIRED = ("providerId", "status", "task")  # what huggingface_hub requires of an entry (hub-api.md section 3)


class Mapping(NamedTuple):
    """One entry of a model's inferenceProviderMapping."""

    provider: str
    provider_model_id: str | None
    status: str
    task: str | None
    adapter: str | None


class Offer(NamedTuple):
    """One router entry for a (model, provider) pair; prices in USD per 1M tokens.

    A NamedTuple: made once per router entry and provider every run, several times faster than a frozen dataclass.
    """

    provider: str
    status: str | None
    context_length: int | None
    price_input: float | None
    price_output: float | None
    supports_tools: int | None
    supports_structured_output: int | None
    is_model_author: int | None


class Seen(NamedTuple):
    """The per-run facts of a listed model: its fingerprint and this run's counters (all the load needs of it
    when the fingerprint says nothing else changed)."""

    model_id: str
    raw_hash: str  # SHA-1 of the item's content fields as sent (Item), its router entry and TRANSFORM_VERSION
    downloads: int | None
    likes: int | None
    trending_score: float | None
    downloads_all_time: int | None


class HubModel(NamedTuple):
    """One /api/models item, checked and typed: every field the transform and the history need.

    A NamedTuple, not a frozen dataclass: every listed item becomes one, and a tuple is made several times faster.
    """

    seen: Seen
    author: str | None  # the item's, else the id's namespace
    pipeline_tag: str | None
    library_name: str | None
    gated: str  # false | auto | manual
    private: bool
    created_at: str | None
    created_epoch: int | None
    last_modified: str | None
    num_parameters: int | None
    license: str | None
    tags: tuple[str, ...]  # sorted, distinct
    mappings: tuple[Mapping, ...]  # sorted by provider
    problems: tuple[str, ...] = ()  # mapping entries left out, and why (a rejects row; the rest of the item loads)
    raw: Any = None  # the item as sent, kept only with problems: the payload of that rejects row

    @property
    def model_id(self) -> str:
        return self.seen.model_id

    @property
    def providers(self) -> Iterable[str]:
        """Every provider the item's mapping names, left-out entries included: extraction lists their partitions."""
        if self.raw is not None:
            return named_providers(self.raw.get("inferenceProviderMapping"))
        return (m.provider for m in self.mappings)


class Known(NamedTuple):
    """An item whose fingerprint is stored: transforming it would change nothing, so only what extraction and this
    run's counters need is read (its content equals what an earlier run parsed and accepted)."""

    seen: Seen
    pipeline_tag: str | None
    num_parameters: int | None
    providers: list[str]

    @property
    def model_id(self) -> str:
        return self.seen.model_id


class Again(NamedTuple):
    """A copy of a model this run already took from another listing: the pipeline keeps only the first copy, so
    only what this listing's own bookkeeping needs is read (no fingerprint, no checks: nothing of it is stored)."""

    model_id: str
    pipeline_tag: str | None
    num_parameters: int | None
    providers: list[str]


@dataclass(frozen=True, slots=True)
class Reject:
    """An item that cannot be stored: the reason (for `rejects`), its id if it has one, and the item itself."""

    model_id: str | None
    reason: str
    item: Any

    @property
    def providers(self) -> Iterable[str]:
        """The providers a rejected item's mapping names: they exist on the Hub even if this item does not load."""
        return named_providers(self.item.get("inferenceProviderMapping")) if isinstance(self.item, dict) else ()


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys and no spaces: equal values give equal bytes (hashes, keys, stored text)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def item_id(item: Any) -> str | None:
    """The model id of a list item: `id`, or the legacy `modelId` of old-shape items that lack it."""
    if not isinstance(item, dict):
        return None
    return id_of(item.get("id"), item.get("modelId"))


def fingerprint_key(raw_hash: str) -> int:
    """The 64-bit prefix of a fingerprint: what the run keeps in memory to recognise unchanged items."""
    return int(raw_hash[:16], 16)


class Parser:
    """Reads each item of a page once: a HubModel, a Known item (its fingerprint is stored), a Reject, or Again.

    `known` holds fingerprint_key()s of the stored fingerprints, `salts` each served model's router digest by
    hash(model id); both are only read, so the listing threads share one Parser. A waiting parser (`waiting=True`)
    gets both later (`settle`): the listings start before the router's list is read, and their pages wait for it.
    `taken` holds hash(model id) of the models the pipeline has already taken this run (`take`, under a lock):
    a later copy of one of them is read as Again.
    """

    def __init__(
        self, known: KeySet | None = None, salts: Mapping_[int, bytes] | None = None, *, waiting: bool = False
    ) -> None:
        self.known = known or KeySet()
        self.salts = salts or {}
        self.taken = KeySet()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        if not waiting:
            self._ready.set()

    def settle(self, known: KeySet, salts: Mapping_[int, bytes]) -> None:
        """The stored fingerprints and the router's digests are in: the pages waiting for them go on."""
        self.known, self.salts = known, salts
        self._ready.set()

    def wait(self, stop: threading.Event) -> bool:
        """Block until settled (True) or until `stop` is set (False)."""
        while not self._ready.wait(0.2):
            if stop.is_set():
                return False
        return True

    def take(self, key: int) -> bool:
        """Mark hash(model id) taken by the pipeline; False if it already was (a later copy: skip it)."""
        with self._lock:
            return self.taken.add(key)

    def __call__(self, item: Any) -> HubModel | Known | Reject | Again:
        """One item: a page's JSON text (msgspec.Raw), or a dict (tests, fixtures: encoded first)."""
        text = as_json(item)
        values = loaded if text is item else lambda _: item  # a rejects row keeps the item as it came
        try:
            it = read_item(text)
        except msgspec.DecodeError as exc:  # not an object, or a counter no float can hold
            model_id = raw_item_id(text)
            reason = NO_ID if model_id is None else printable(f"item: unreadable ({exc})")
            return Reject(model_id, reason, values(text))
        model_id = id_of(it.id, it.model_id)
        if model_id is None:
            return Reject(None, NO_ID, values(text))
        # Read without the lock: a copy taken a moment ago may be missed, which costs only a full read (take(),
        # under the lock, is what decides which copy the pipeline keeps).
        if hash(model_id) in self.taken:
            return _again(it, model_id)
        raw_hash = self._fingerprint(it, model_id)
        if fingerprint_key(raw_hash) in self.known:
            # Its content passed check_item and parse_model in the run that stored this fingerprint (a change of
            # either bumps TRANSFORM_VERSION): only the counters, outside the content, are checked again, and
            # only what extraction needs is decoded.
            try:
                seen = _counted(it, model_id, raw_hash)
            except RejectItem as exc:
                return Reject(model_id, printable(str(exc)), values(text))
            st = read_safetensors(it.safetensors)
            params = None if st is None or st.total is None else int(st.total)  # type: ignore[call-overload]  # a number: checked when stored
            return Known(seen, read_value(it.pipeline_tag), params, _providers(it.mapping))
        if text is item:  # a page's item: most are stored as they come, read typed (msgspec) without a dict
            model = _typed_model(text, it, model_id, raw_hash)
            if model is not None:
                return model
        try:
            full = item if isinstance(item, dict) else as_dict(text)
        except ValueError as exc:  # orjson refuses what msgspec skipped over (an infinite number in a field)
            return Reject(model_id, printable(f"item: unreadable ({exc})"), values(text))
        try:
            check_item(full)  # first what no backend can store, then the counters, then each field
            return parse_model(full, _seen(full, model_id, raw_hash))
        except RejectItem as exc:
            return Reject(model_id, printable(str(exc)), full)

    def _fingerprint(self, it: Item, model_id: str) -> str:
        """SHA-1 of the content as sent (its JSON text), the router entry's digest and TRANSFORM_VERSION."""
        content = SEP.join(
            (
                model_id.encode("utf-8", "surrogatepass"),
                it.hub_id,
                it.author,
                it.created,
                it.modified,
                it.gated,
                it.private,
                it.tags,
                it.pipeline_tag,
                it.library_name,
                it.safetensors,
                it.mapping,
                it.card,
            )
        )
        digest = hashlib.sha1(content)
        digest.update(self.salts.get(hash(model_id), b""))
        digest.update(TRANSFORM_VERSION)
        return digest.hexdigest()


def _providers(mapping: msgspec.Raw) -> list[str]:
    """named_providers of a mapping still in JSON text."""
    try:
        return _read_providers(mapping)
    except msgspec.DecodeError:
        return named_providers(read_value(mapping))


def _read_providers(mapping: msgspec.Raw) -> list[str]:
    entries = read_entries(mapping)
    if entries is None:
        return []
    if isinstance(entries, dict):
        return [k for k in entries if isinstance(k, str)]
    return [e.provider for e in entries if isinstance(e.provider, str)]


def _again(it: Item, model_id: str) -> Again:
    """What a listing's bookkeeping reads of a later copy (unchecked values it cannot use become None)."""
    try:
        tag = read_value(it.pipeline_tag)
        st = read_safetensors(it.safetensors)
        total = None if st is None else st.total
    except msgspec.DecodeError:
        tag = total = None
    if not (type(total) is int or (type(total) is float and math.isfinite(total))):
        total = None
    return Again(
        model_id, tag if type(tag) is str else None, None if total is None else int(total), _providers(it.mapping)
    )


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _counted(it: Item, model_id: str, raw_hash: str) -> Seen:
    """This run's counters of an item read as Item: the common case (plain 64-bit ints, a finite score) settled in
    one pass, anything else checked (check_counters) and typed (_seen) the usual way."""
    downloads, likes, trending, dl_all = it.downloads, it.likes, it.trending, it.dl_all
    if (
        type(downloads) is int
        and type(likes) is int
        and type(dl_all) is int
        and _INT64_MIN <= downloads <= _INT64_MAX
        and _INT64_MIN <= likes <= _INT64_MAX
        and _INT64_MIN <= dl_all <= _INT64_MAX
        and (
            (type(trending) is float and math.isfinite(trending))
            or (type(trending) is int and _INT64_MIN <= trending <= _INT64_MAX)
        )
    ):
        return Seen(model_id, raw_hash, downloads, likes, float(trending), dl_all)
    counters = {"downloads": downloads, "likes": likes, "trendingScore": trending, "downloadsAllTime": dl_all}
    check_counters(counters)
    return _seen(counters, model_id, raw_hash)


def _seen(item: dict[str, Any], model_id: str, raw_hash: str) -> Seen:
    """The per-run facts; RejectItem for a counter of the wrong type."""
    get = item.get
    downloads, likes, trending, dl_all = get("downloads"), get("likes"), get("trendingScore"), get("downloadsAllTime")
    # The common case is plain ints; anything else goes through the checking accessors.
    if not (type(downloads) is int and type(likes) is int and type(dl_all) is int and type(trending) in (int, float)):
        downloads, likes = _opt_number(item, "downloads"), _opt_number(item, "likes")
        trending, dl_all = _opt_number(item, "trendingScore", float), _opt_number(item, "downloadsAllTime")
    trending_score = None if trending is None else float(trending)
    return Seen(model_id, raw_hash, downloads, likes, trending_score, dl_all)


to_model = Parser()  # with nothing known: every item with an id is parsed whole (or rejected)


def _typed_model(text: msgspec.Raw | bytes, it: Item, model_id: str, raw_hash: str) -> HubModel | None:
    """parse_model of an item that check_item and parse_model accept, read typed; None for any other item (the
    dict path then rejects it with its reason, or reads what typing cannot, as a mapping with problems)."""
    try:
        full = read_full(text)
        card = read_card(it.card)
        seen = _counted(it, model_id, raw_hash)
    except (msgspec.DecodeError, RejectItem):
        return None
    tags, license_ = full.tags or [], card.license if card is not None else None
    total = None if full.safetensors is None else full.safetensors.total
    if not (
        _storable(model_id, MODEL_ID_MAX)
        and _storable(full.author, 255)
        and _storable(full.pipeline_tag, 64)
        and _storable(full.library_name, 64)
        and _storable(full.created, 32)
        and _storable(full.modified, 32)
        and (license_ is None or not isinstance(license_, str) or _storable(license_, LICENSE_MAX))
        and (total is None or _in_int64(total))
        and plain_tags(tags)
        and full.gated in GATED_VALUES
    ):
        return None
    mappings = _whole_mappings(it.mapping)
    try:
        if mappings is None:
            mapping = read_value(it.mapping)
            check_mappings(mapping)
            mappings, problems = parse_mappings(mapping)
            if problems:  # its rejects row wants the item as sent: the dict path keeps it
                return None
        created_epoch = _epoch(full.created)
    except (msgspec.DecodeError, RejectItem):
        return None
    tag_tuple = tuple(sorted(set(tags)))
    return HubModel(
        seen,
        full.author or (model_id.split("/", 1)[0] if "/" in model_id else None),
        full.pipeline_tag,
        full.library_name,
        GATED_VALUES[full.gated],
        bool(full.private),
        full.created,
        created_epoch,
        full.modified,
        None if total is None else int(total),
        license_ if isinstance(license_, str) else _license(tag_tuple, None),
        tag_tuple,
        mappings,
    )


def _whole_mappings(text: msgspec.Raw) -> tuple[Mapping, ...] | None:
    """What check_mappings and parse_mappings make of a list of whole entries (the usual mapping), read typed: each
    entry's fields of their types, storable, a known status, no provider twice. None for any other mapping, which
    they then read themselves (and name what is wrong)."""
    try:
        entries = read_mapping(text)
    except msgspec.DecodeError:
        return None
    out: dict[str, Mapping] = {}
    for e in entries or ():
        provider = e.provider
        if not (
            provider
            and provider not in out
            and e.status in MAPPING_STATUSES
            and storable_provider(provider)
            and _storable(e.provider_model_id, MAPPING_STRINGS["providerId"])
            and _storable(e.task, MAPPING_STRINGS["task"])
            and _storable(e.adapter, MAPPING_STRINGS["adapter"])
        ):
            return None
        # tuple.__new__: a NamedTuple's own __new__ is Python code, a third of this loop's time
        out[provider] = tuple.__new__(Mapping, (provider, e.provider_model_id, e.status, e.task, e.adapter))
    return tuple(sorted(out.values()))  # by provider: each is there once


def _in_int64(value: float) -> bool:
    """A finite number within 64 bits (an integer of any size is compared as it is, never made a float)."""
    if type(value) is float and not math.isfinite(value):
        return False
    return _INT64_MIN <= value <= _INT64_MAX


def _storable(value: str | None, limit: int) -> bool:
    return value is None or (len(value) <= limit and "\x00" not in value)


def parse_model(item: dict[str, Any], seen: Seen) -> HubModel:
    """Type every field of an item (its storable values and counters already checked); RejectItem names the first
    thing wrong, in the order the reasons were always given."""
    get = item.get
    model_id = seen.model_id
    tags = _tags(get("tags"))
    author = _opt_str(item, "author") or (model_id.split("/", 1)[0] if "/" in model_id else None)
    pipeline_tag = _opt_str(item, "pipeline_tag")
    gated = _gated(get("gated"))
    private = get("private")
    if private is not None and type(private) is not bool:
        raise RejectItem(f"private: expected a boolean, got {type(private).__name__}")
    created_at, last_modified = _opt_str(item, "createdAt"), _opt_str(item, "lastModified")
    num_parameters = _num_parameters(get("safetensors"))
    mappings, problems = parse_mappings(get("inferenceProviderMapping"))
    if problems and not mappings:
        # No entry is usable (a changed shape, say): the item is rejected whole, so nothing stored changes for it.
        raise RejectItem(problems[0])
    created_epoch = _epoch(created_at)
    library_name = _opt_str(item, "library_name")
    return HubModel(  # positional, in field order: the fastest way to build one
        seen,
        author,
        pipeline_tag,
        library_name,
        gated,
        bool(private),
        created_at,
        created_epoch,
        last_modified,
        num_parameters,
        _license(tags, get("cardData")),
        tags,
        mappings,
        problems,
        item if problems else None,
    )


def parse_mappings(raw: Any) -> tuple[tuple[Mapping, ...], tuple[str, ...]]:
    """List form (listing) or dict form (model_info) -> (Mappings sorted by provider, problems with entries).

    A malformed entry is left out and named in the problems (the item's other entries still load). When one
    provider appears twice, live beats staging beats error, then the first wins; the duplicate is a problem too.
    RejectItem only for a mapping that is neither a list nor an object.
    """
    if raw is None:
        return (), ()
    if isinstance(raw, dict):
        entries = [dict(v, provider=k) if isinstance(v, dict) else v for k, v in raw.items()]
    elif isinstance(raw, list):
        entries = raw
    else:
        raise RejectItem(f"inferenceProviderMapping: unknown shape {type(raw).__name__}")
    if not entries:
        return (), ()
    out: dict[str, Mapping] = {}
    problems: list[str] = []
    for entry in entries:
        mapping = _mapping(entry, problems)
        if mapping is None:
            continue
        kept = out.get(mapping.provider)
        if kept is None:
            out[mapping.provider] = mapping
            continue
        if _STATUS_RANK[mapping.status] < _STATUS_RANK[kept.status]:
            out[mapping.provider] = mapping
        winner = out[mapping.provider]
        problems.append(
            f"inferenceProviderMapping[{mapping.provider}]: duplicate entry ({kept.status} and {mapping.status}): "
            f"kept the {winner.status} one"
        )
    return tuple(out[p] for p in sorted(out)), tuple(problems)


def _mapping(entry: Any, problems: list[str]) -> Mapping | None:
    """One entry, or None with the reason appended to problems."""
    if not isinstance(entry, dict):
        problems.append(f"inferenceProviderMapping: entry is {type(entry).__name__}, not an object")
        return None
    provider = entry.get("provider")
    if not isinstance(provider, str) or not provider:
        problems.append("inferenceProviderMapping: entry without a provider")
        return None
    where = f"inferenceProviderMapping[{provider}]"
    missing = [k for k in _REQUIRED if entry.get(k) is None]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
        return None
    status, pid, task, adapter = entry["status"], entry["providerId"], entry["task"], entry.get("adapter")
    if not isinstance(status, str) or status not in MAPPING_STATUSES:  # a list or an object is no status either
        problems.append(f"{where}: unknown status {status!r}")
        return None
    if not isinstance(pid, str) or not isinstance(task, str):
        problems.append(f"{where}: providerId and task must be strings")
        return None
    return Mapping(provider, pid, status, task, adapter if isinstance(adapter, str) else None)


def named_providers(raw: Any) -> list[str]:
    """The provider ids a raw mapping names (list form: each object's `provider`; dict form: its keys)."""
    if isinstance(raw, list):
        return [m["provider"] for m in raw if isinstance(m, dict) and isinstance(m.get("provider"), str)]
    if isinstance(raw, dict):
        return [k for k in raw if isinstance(k, str)]
    return []


def router_salt(offers: tuple[Offer, ...]) -> bytes:
    """A model's router offers (sorted by provider) as the 8-byte digest its fingerprint includes: of their JSON
    text (router_text), the same for offers read from the router and read back from storage."""
    return hashlib.blake2b(router_text(offers), digest_size=8).digest()


def router_text(offers: tuple[Offer, ...]) -> bytes:
    """Offers as JSON arrays of their fields, in field order (a third of the time their repr took)."""
    return orjson.dumps(offers, default=tuple)


def parse_offers(entry: Any) -> tuple[str, tuple[Offer, ...]]:
    """One element of the router's /v1/models `data` -> (model id, offers sorted by provider).

    JSON text (msgspec.Raw, HubClient.router_models) is read into typed structs, fields it does not use skipped;
    an entry of another shape is read whole and takes the dict path, which names what is wrong with it.
    """
    if isinstance(entry, msgspec.Raw):
        try:
            typed = read_router_entry(entry)
        except msgspec.DecodeError:
            return parse_offers(loaded(entry))
        return _typed_offers(typed)
    if not isinstance(entry, dict) or id_of(entry.get("id"), None) is None:  # a blank id is none either
        raise RejectItem("router entry without an id")
    offers: dict[str, Offer] = {}
    for p in entry.get("providers") or ():
        if not isinstance(p, dict) or not isinstance(p.get("provider"), str):
            raise RejectItem(f"router entry {entry['id']}: provider entry without a provider id")
        pricing = given if isinstance(given := p.get("pricing"), dict) else {}
        offers[p["provider"]] = Offer(
            provider=p["provider"],
            status=p.get("status") if isinstance(p.get("status"), str) else None,
            context_length=_num(p.get("context_length"), int),
            price_input=_num(pricing.get("input"), float),
            price_output=_num(pricing.get("output"), float),
            supports_tools=_flag(p.get("supports_tools")),
            supports_structured_output=_flag(p.get("supports_structured_output")),
            is_model_author=_flag(p.get("is_model_author")),
        )
    return entry["id"], tuple(offers[k] for k in sorted(offers))


def _typed_offers(entry: RouterEntry) -> tuple[str, tuple[Offer, ...]]:
    """parse_offers of an entry read as RouterEntry: the same offers, the same reasons to reject it."""
    model_id = id_of(entry.id, None)
    if model_id is None:
        raise RejectItem("router entry without an id")
    offers: dict[str, Offer] = {}
    for p in entry.providers or ():
        provider = p.provider
        if not isinstance(provider, str):
            raise RejectItem(f"router entry {model_id}: provider entry without a provider id")
        pricing = p.pricing
        offers[provider] = Offer(
            provider,
            p.status if isinstance(p.status, str) else None,
            _num(p.context_length, int),
            None if pricing is None else _num(pricing.input, float),
            None if pricing is None else _num(pricing.output, float),
            _flag(p.supports_tools),
            _flag(p.supports_structured_output),
            _flag(p.is_model_author),
        )
    return model_id, tuple(offers[k] for k in sorted(offers))


def _opt_str(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None or isinstance(value, str):
        return value
    raise RejectItem(f"{key}: expected a string, got {type(value).__name__}")


def _opt_number(item: dict[str, Any], key: str, kind: type = int) -> Any:
    """A number or None; `kind` (int or float) is what it becomes."""
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RejectItem(f"{key}: expected a number, got {type(value).__name__}")
    return kind(value)


def _num(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value)


def _flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _tags(tags: Any) -> tuple[str, ...]:
    if tags is None:
        return ()
    if type(tags) is not list:
        raise RejectItem("tags: expected a list of strings")
    for tag in tags:
        if type(tag) is not str:
            raise RejectItem("tags: expected a list of strings")
    return tuple(sorted(set(tags)))


def _gated(value: Any) -> str:
    try:
        return GATED_VALUES[value]
    except (KeyError, TypeError):
        raise RejectItem(f"gated: expected false, 'auto' or 'manual', got {value!r}") from None


def _epoch(iso: str | None) -> int | None:
    if not iso:
        return None
    try:
        return int(parse_stamp(iso).timestamp())
    except ValueError:
        raise RejectItem(f"createdAt: not an ISO-8601 date: {iso!r}") from None


def _num_parameters(st: Any) -> int | None:
    if st is None:
        return None
    if not isinstance(st, dict):
        raise RejectItem("safetensors: expected an object")
    total = st.get("total")
    if total is None:
        return None
    if isinstance(total, bool) or not isinstance(total, (int, float)):
        raise RejectItem("safetensors.total: expected a number")
    return int(total)


def _license(tags: tuple[str, ...], card: Any) -> str | None:
    if isinstance(card, dict) and isinstance(license_ := card.get("license"), str):
        return license_
    for tag in tags:
        if tag.startswith("license:"):
            return tag[8:]
    return None
