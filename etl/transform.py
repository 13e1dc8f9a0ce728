"""Pure functions: a Hub list item (+ router offers) -> the gateway record and the rows of the history tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from .modalities import modalities

VOLATILE = ("downloads", "likes")  # never part of a version's hash
# Every item field to_row reads except the counters: equal values here mean an equal record.
FINGERPRINT_KEYS = (
    "id",
    "modelId",
    "_id",
    "author",
    "createdAt",
    "lastModified",
    "gated",
    "private",
    "tags",
    "pipeline_tag",
    "library_name",
    "safetensors",
    "inferenceProviderMapping",
    "cardData",
)
TRANSFORM_VERSION = b"2"  # bump when to_row's output changes: every item is then transformed again
GATED_VALUES = {False: "false", None: "false", "false": "false", "auto": "auto", "manual": "manual", True: "manual"}
MAPPING_STATUSES = frozenset({"live", "staging", "error"})


class RejectItem(ValueError):
    """An item that cannot be normalized; its message is the reason stored in `rejects`."""


@dataclass(frozen=True, slots=True)
class Offer:
    """One router entry for a (model, provider) pair; prices in USD per 1M tokens."""

    provider: str
    status: str | None
    context_length: int | None
    price_input: float | None
    price_output: float | None
    supports_tools: int | None
    supports_structured_output: int | None
    is_model_author: int | None


@dataclass(frozen=True, slots=True)
class Mapping:
    """One entry of a model's inferenceProviderMapping."""

    provider: str
    provider_model_id: str | None
    status: str
    task: str | None
    adapter: str | None


@dataclass(slots=True)
class ModelRow:
    """Everything the loader needs about one observed model."""

    model_id: str
    author: str | None
    pipeline_tag: str | None
    library_name: str | None
    gated: str
    private: int
    created_at: str | None
    last_modified: str | None
    num_parameters: int | None
    license: str | None
    tags: str  # canonical JSON
    row_hash: str
    record: str  # canonical JSON of the gateway record, without volatile counters
    mappings: tuple[Mapping, ...]
    problems: tuple[str, ...] = ()  # entries left out of the mapping, and why (a reject row; the rest loads)


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _opt_str(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RejectItem(f"{key}: expected a string, got {type(value).__name__}")
    return value


def _opt_number(item: dict[str, Any], key: str, kind: type = int) -> Any:
    """A number or None; `kind` (int or float) is what it becomes."""
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RejectItem(f"{key}: expected a number, got {type(value).__name__}")
    return kind(value)


def _tags(item: dict[str, Any]) -> list[str]:
    tags = item.get("tags")
    if tags is None:
        return []
    if type(tags) is not list:
        raise RejectItem("tags: expected a list of strings")
    for tag in tags:
        if type(tag) is not str:
            raise RejectItem("tags: expected a list of strings")
    return sorted(set(tags))


def _gated(item: dict[str, Any]) -> str:
    value = item.get("gated")
    try:
        return GATED_VALUES[value]
    except (KeyError, TypeError):
        raise RejectItem(f"gated: expected false, 'auto' or 'manual', got {value!r}") from None


_STATUS_RANK = {"live": 0, "staging": 1, "error": 2}  # which of two entries for one provider wins
_REQUIRED = ("providerId", "status", "task")  # what huggingface_hub requires of an entry (hub-api.md section 3)


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
    if status not in MAPPING_STATUSES:
        problems.append(f"{where}: unknown status {status!r}")
        return None
    if not isinstance(pid, str) or not isinstance(task, str):
        problems.append(f"{where}: providerId and task must be strings")
        return None
    return Mapping(provider, pid, status, task, adapter if isinstance(adapter, str) else None)


def item_id(item: Any) -> str | None:
    """The model id of a list item: `id`, or the legacy `modelId` of old-shape items that lack it."""
    if not isinstance(item, dict):
        return None
    value: object = item.get("id")
    if value is None:
        value = item.get("modelId")
    return value if isinstance(value, str) and value.strip() else None


def fingerprint_key(raw_hash: str) -> int:
    """The 64-bit prefix of a fingerprint: what the run keeps in memory to recognise unchanged items."""
    return int(raw_hash[:16], 16)


def parse_offers(entry: Any) -> tuple[str, tuple[Offer, ...]]:
    """One element of the router's /v1/models `data` -> (model id, offers sorted by provider)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
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


def _num(value: Any, kind: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return kind(value)


def _flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _epoch(iso: str | None) -> int | None:
    if not iso:
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise RejectItem(f"createdAt: not an ISO-8601 date: {iso!r}") from None


def _num_parameters(item: dict[str, Any]) -> int | None:
    st = item.get("safetensors")
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


def _license(tags: list[str], item: dict[str, Any]) -> str | None:
    card = item.get("cardData")
    if isinstance(card, dict) and isinstance(license_ := card.get("license"), str):
        return license_
    for tag in tags:
        if tag.startswith("license:"):
            return tag[8:]
    return None


def _per_token(price_per_million: float | None) -> str | None:
    """USD per 1M tokens -> USD per token as a decimal string, the gateway (OpenRouter) convention."""
    if price_per_million is None:
        return None
    return format(price_per_million / 1_000_000, ".12f").rstrip("0").rstrip(".") or "0"


def _cheapest(offers: tuple[Offer, ...], mappings: tuple[Mapping, ...]) -> Offer | None:
    """The cheapest live offer with a price; else the live offer with the longest context.

    Only providers the Hub maps as live count: the router may price a model on a provider the Hub does not map
    (that offer stays in provider_offers, flagged `unmapped`), and the catalog must not show a price of a provider
    missing from its provider list.
    """
    mapped = {m.provider for m in mappings if m.status == "live"}
    live = [o for o in offers if o.status in (None, "live") and o.provider in mapped]
    priced = [o for o in live if o.price_input is not None and o.price_output is not None]
    if priced:
        return min(priced, key=lambda o: ((o.price_input or 0.0) + (o.price_output or 0.0), o.provider))
    with_ctx = [o for o in live if o.context_length]
    return max(with_ctx, key=lambda o: (o.context_length, o.provider)) if with_ctx else None


@dataclass(slots=True)
class Seen:
    """The per-run facts of an observed model: enough when its fingerprint says nothing else changed."""

    model_id: str
    raw_hash: str
    downloads: int | None
    likes: int | None
    trending_score: float | None
    downloads_all_time: int | None


def fingerprint(item: dict[str, Any], salt: bytes = b"") -> Seen:
    """Hash of the raw item without its counters, plus `salt` (its router entry); the counters themselves.

    Equal fingerprints mean to_row would produce the same record, so the transformer can be skipped. Keys are
    not sorted: a reordered item only costs a transform, whose canonical hash then shows no change.
    Raises RejectItem for counters of the wrong type (the full transform then says why).
    """
    get = item.get
    digest = hashlib.sha1(orjson.dumps([get(k) for k in FINGERPRINT_KEYS]))
    digest.update(salt)
    digest.update(TRANSFORM_VERSION)
    downloads, likes, trending, dl_all = get("downloads"), get("likes"), get("trendingScore"), get("downloadsAllTime")
    # The common case is plain ints; anything else goes through the checking accessors.
    if not (type(downloads) is int and type(likes) is int and type(dl_all) is int and type(trending) in (int, float)):
        downloads, likes = _opt_number(item, "downloads"), _opt_number(item, "likes")
        trending, dl_all = _opt_number(item, "trendingScore", float), _opt_number(item, "downloadsAllTime")
    return Seen(
        item_id(item) or "", digest.hexdigest(), downloads, likes, None if trending is None else float(trending), dl_all
    )


def to_row(item: Any, offers: tuple[Offer, ...] = ()) -> ModelRow:
    """Normalize one Hub list item; RejectItem says why it cannot be. Counters are fingerprint()'s job."""
    if not isinstance(item, dict):
        raise RejectItem(f"item is {type(item).__name__}, not an object")
    model_id = item_id(item)
    if model_id is None:
        raise RejectItem("item without an id")
    tags = _tags(item)
    author = _opt_str(item, "author") or (model_id.split("/", 1)[0] if "/" in model_id else None)
    pipeline_tag = _opt_str(item, "pipeline_tag")
    gated = _gated(item)
    private = item.get("private")
    if private is not None and not isinstance(private, bool):
        raise RejectItem(f"private: expected a boolean, got {type(private).__name__}")
    created_at, last_modified = _opt_str(item, "createdAt"), _opt_str(item, "lastModified")
    num_parameters = _num_parameters(item)
    mappings, problems = parse_mappings(item.get("inferenceProviderMapping"))
    if problems and not mappings:
        # No entry is usable (a changed shape, say): the item is rejected whole, so nothing stored changes for it.
        raise RejectItem(problems[0])
    by_provider = {o.provider: o for o in offers}
    record = _record(
        model_id,
        author,
        pipeline_tag,
        gated,
        bool(private),
        created_at,
        last_modified,
        num_parameters,
        mappings,
        by_provider,
        offers,
    )
    record_json = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    return ModelRow(
        model_id=model_id,
        author=author,
        pipeline_tag=pipeline_tag,
        library_name=_opt_str(item, "library_name"),
        gated=gated,
        private=int(bool(private)),
        created_at=created_at,
        last_modified=last_modified,
        num_parameters=num_parameters,
        license=_license(tags, item),
        tags=dumps(tags),
        row_hash=hashlib.sha1(record_json).hexdigest(),
        record=record_json.decode(),
        mappings=mappings,
        problems=problems,
    )


def _record(
    model_id: str,
    author: str | None,
    pipeline_tag: str | None,
    gated: str,
    private: bool,
    created_at: str | None,
    last_modified: str | None,
    num_parameters: int | None,
    mappings: tuple[Mapping, ...],
    by_provider: dict[str, Offer],
    offers: tuple[Offer, ...],
) -> dict[str, Any]:
    """The gateway-schema record (SPEC section 6) without volatile counters."""
    name = model_id.split("/", 1)[-1]
    inputs, outputs = modalities(pipeline_tag)
    best = _cheapest(offers, mappings)
    return {
        "id": model_id,
        "name": name,
        "slug": model_id.lower(),
        "hugging_face_id": model_id,
        "provider_slug": author,
        "provider_site_url": f"https://huggingface.co/{author}" if author else None,
        "source_gateway": "hug",
        "created": _epoch(created_at),
        "description": f"{name} by {author} on Hugging Face" + (f" ({pipeline_tag})" if pipeline_tag else ""),
        "context_length": best.context_length if best else None,
        "architecture": {
            "modality": f"{'+'.join(inputs)}->{'+'.join(outputs)}" if inputs else None,
            "input_modalities": list(inputs),
            "output_modalities": list(outputs),
            "tokenizer": None,
            "instruct_type": None,
        },
        "pricing": {
            "prompt": _per_token(best.price_input) if best else None,
            "completion": _per_token(best.price_output) if best else None,
            "request": "0" if best else None,
            "image": "0" if best else None,
            "web_search": "0" if best else None,
            "internal_reasoning": "0" if best else None,
        },
        "huggingface_metrics": {
            "pipeline_tag": pipeline_tag,
            "num_parameters": num_parameters,
            "gated": gated,
            "private": private,
            "last_modified": last_modified,
            "author": author,
            "url": f"https://huggingface.co/{model_id}",
        },
        "providers": [_provider_entry(m, by_provider.get(m.provider)) for m in mappings],
    }


def _provider_entry(m: Mapping, offer: Offer | None) -> dict[str, Any]:
    return {
        "provider": m.provider,
        "provider_model_id": m.provider_model_id,
        "status": m.status,
        "task": m.task,
        "context_length": offer.context_length if offer else None,
        "price_input": offer.price_input if offer else None,
        "price_output": offer.price_output if offer else None,
    }


def with_metrics(record: dict[str, Any], downloads: int | None, likes: int | None) -> dict[str, Any]:
    """The exported record: the stored version plus the run's volatile counters."""
    metrics = dict(record.get("huggingface_metrics") or {})
    metrics.update(downloads=downloads, likes=likes)
    return {**record, "huggingface_metrics": metrics}
