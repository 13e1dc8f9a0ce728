"""The snapshot in OpenRouter's shapes: a model of `GET /api/v1/models` and an endpoint of `.../endpoints`.

Pure functions over what `queries.catalog_offers` and `queries.model_endpoints` read; the README maps every
field. Prices: the database keeps USD per 1M tokens (floats); OpenRouter gives USD per token as decimal strings,
"-1" when unknown or variable, "0" only when free.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote

import orjson
from sqlalchemy import Connection, Engine

from .queries import AsOf, EndpointRow, OfferKey, OfferRow, catalog_offers, offer_rows, version_records

UNKNOWN_PRICE = "-1"  # OpenRouter's marker for variable or unknown pricing; "0" would claim "free"
# Chat-completion parameters every router offer accepts: huggingface_hub's InferenceClient.chat_completion
# arguments that OpenRouter also names (n, tool_prompt and stream_options it does not).
CHAT_PARAMETERS = (
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "max_tokens",
    "presence_penalty",
    "seed",
    "stop",
    "temperature",
    "top_logprobs",
    "top_p",
)
TOOL_PARAMETERS = ("tool_choice", "tools")
STRUCTURED_PARAMETERS = ("response_format", "structured_outputs")
INPUTS = frozenset({"text", "image", "file", "audio", "video"})  # OpenRouter's InputModality values
OUTPUTS = frozenset({"text", "image", "embeddings", "audio", "video", "rerank", "speech", "transcription"})
# Tasks whose output OpenRouter names more precisely than the gateway record's generic modality.
TASK_OUTPUTS = {"text-ranking": "rerank", "text-to-speech": "speech", "automatic-speech-recognition": "transcription"}
# OpenRouter's Parameter vocabulary (openrouter.components.Parameter): what a supported_parameters filter may name.
PARAMETERS = frozenset(
    {
        "temperature", "top_p", "top_k", "min_p", "top_a", "frequency_penalty", "presence_penalty",
        "repetition_penalty", "max_tokens", "max_completion_tokens", "logit_bias", "logprobs", "top_logprobs",
        "prediction", "seed", "response_format", "structured_outputs", "stop", "tools", "tool_choice",
        "parallel_tool_calls", "include_reasoning", "reasoning", "reasoning_effort", "web_search_options", "verbosity",
    }
)  # fmt: skip
_URL_SAFE = re.compile(r"[A-Za-z0-9._/-]+")
_NO_PRICE = {"prompt": UNKNOWN_PRICE, "completion": UNKNOWN_PRICE}
_NO_PROVIDER = {"context_length": None, "max_completion_tokens": None, "is_moderated": False}
ENDPOINT_STATUS = {"live": 0, "error": -1, "staging": -10}  # the Hub's mapping status -> OpenRouter's code


@lru_cache(maxsize=4096)
def per_token(per_million: float | None) -> str:
    """USD per 1M tokens (as stored) -> USD per token, exact decimal text (2.1 -> "0.0000021")."""
    if per_million is None or per_million < 0:
        return UNKNOWN_PRICE
    value = Decimal(repr(per_million)).scaleb(-6)  # repr: the float's shortest text, so no binary noise
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def is_live(offer: OfferRow) -> bool:
    """A router offer that takes requests: the router lists it live (or gives no status)."""
    return offer.has_offer and offer.status in (None, "live")


def top_offer(offers: Sequence[OfferRow]) -> OfferRow | None:
    """The cheapest live offer with both prices; else the live offer with the longest context; else None.

    Ties go to the provider first in alphabetical order, so the choice never depends on row order.
    """
    live = [o for o in offers if is_live(o)]
    priced = [o for o in live if o.price_input is not None and o.price_output is not None]
    if priced:
        return min(priced, key=lambda o: ((o.price_input or 0.0) + (o.price_output or 0.0), o.provider))
    with_context = [o for o in live if o.context_length]
    return min(with_context, key=lambda o: (-(o.context_length or 0), o.provider)) if with_context else None


def offer_parameters(offer: OfferRow) -> list[str]:
    """What the router says one offer accepts: the chat parameters, plus tools and structured output if it says so."""
    if not offer.has_offer:
        return []  # not a chat-completion offer (the router lists chat models only)
    names = list(CHAT_PARAMETERS)
    if offer.supports_tools:
        names += TOOL_PARAMETERS
    if offer.supports_structured_output:
        names += STRUCTURED_PARAMETERS
    return sorted(names)


def model_parameters(offers: Iterable[OfferRow]) -> list[str]:
    """The union over live offers, as OpenRouter's model-level `supported_parameters` is over its providers."""
    live = [o for o in offers if is_live(o)]
    return _parameters(bool(live), any(o.supports_tools for o in live), any(o.supports_structured_output for o in live))


@lru_cache(maxsize=8)
def _parameters(chat: bool, tools: bool, structured: bool) -> list[str]:
    """Shared, never mutated: eight possible lists for a whole catalog."""
    if not chat:
        return []
    return sorted(
        [*CHAT_PARAMETERS, *(TOOL_PARAMETERS if tools else ()), *(STRUCTURED_PARAMETERS if structured else ())]
    )


def architecture(record: dict[str, Any]) -> dict[str, Any]:
    """The record's modalities in OpenRouter's vocabulary (tabular, 3D and other inputs are files)."""
    arch = record.get("architecture") or {}
    return _architecture(
        tuple(arch.get("input_modalities") or ()),
        tuple(arch.get("output_modalities") or ()),
        (record.get("huggingface_metrics") or {}).get("pipeline_tag"),
    )


@lru_cache(maxsize=1024)
def _architecture(inputs_: tuple[str, ...], outputs_: tuple[str, ...], task: str | None) -> dict[str, Any]:
    """Shared, never mutated: one per (modalities, task) of the catalog, a few dozen."""
    inputs = _unique(m if m in INPUTS else "file" for m in inputs_)
    outputs = [TASK_OUTPUTS[task]] if task in TASK_OUTPUTS else []
    outputs = outputs or _unique(m for m in outputs_ if m in OUTPUTS)
    modality = f"{'+'.join(inputs)}->{'+'.join(outputs)}" if inputs and outputs else None
    return {
        "modality": modality,
        "input_modalities": inputs,
        "output_modalities": outputs,
        "tokenizer": None,
        "instruct_type": None,
    }


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def details_path(model_id: str) -> str:
    """`links.details`: this model's endpoints list, relative to the API's host as OpenRouter gives it."""
    safe = model_id if _URL_SAFE.fullmatch(model_id) else quote(model_id, safe="/")  # repo ids almost always are
    return f"/api/v1/models/{safe}/endpoints"


def to_model(record: dict[str, Any], offers: Sequence[OfferRow]) -> dict[str, Any]:
    """One `openrouter.components.Model` from a stored gateway record and the model's live mappings and offers."""
    return {**record_fields(record), **offer_fields(offers)}


def record_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The fields that come from the version's record alone (a version never changes: cacheable by its id)."""
    model_id = record["id"]
    return {
        "id": model_id,
        "canonical_slug": record.get("slug") or model_id.lower(),
        "hugging_face_id": model_id,
        "name": record.get("name") or model_id,
        "created": record.get("created") or 0,  # the SDK requires an integer; 0 when the Hub gives no createdAt
        "description": record.get("description") or "",
        "architecture": architecture(record),
        "per_request_limits": None,
        "default_parameters": None,
        "supported_voices": None,
        "links": {"details": details_path(model_id)},
    }


def offer_fields(offers: Sequence[OfferRow]) -> dict[str, Any]:
    """The fields that come from the live mappings and router offers at the chosen time."""
    best = top_offer(offers) if offers else None
    context = best.context_length if best else None
    pricing = _NO_PRICE  # shared constants are fine: these dicts only go to orjson
    if best is not None and best.price_input is not None and best.price_output is not None:
        pricing = {"prompt": per_token(best.price_input), "completion": per_token(best.price_output)}
    return {
        "context_length": context,
        "pricing": pricing,
        "top_provider": _NO_PROVIDER if context is None else {**_NO_PROVIDER, "context_length": context},
        "supported_parameters": model_parameters(offers),
    }


class RecordCache:
    """`record_fields` as JSON bytes (without the closing brace) per version id, bounded (oldest out first).

    Versions are append-only and a version's record never changes, so an entry is never stale; a warm cache
    spares the list every record read, parse and dump (the bulk of its cost). Shared by the server's threads.
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def get_many(self, conn: Connection, version_ids: list[int]) -> dict[int, bytes]:
        """The JSON of these versions' record fields, reading the records not cached on `conn`."""
        found = {v: self._entries[v] for v in version_ids if v in self._entries}
        missing = [v for v in version_ids if v not in found]
        if missing:
            records = version_records(conn, missing)
            # Kept without the closing brace, a slice: a right-sized copy, where orjson's own buffer (about 4 KB
            # for a 0.5 KB result) would pin 8x the memory.
            fresh = {v: orjson.dumps(record_fields(orjson.loads(r)))[:-1] for v, r in records.items()}
            found.update(fresh)
            with self._lock:
                self._entries.update(fresh)
                while len(self._entries) > self.max_entries:
                    del self._entries[next(iter(self._entries))]
        return found


class ModelPart(NamedTuple):
    """One model of a list as JSON in two parts, and what the list's filters read."""

    record: bytes  # `record_fields` without the closing brace (shared with the RecordCache)
    offers: bytes  # `offer_fields` without the opening brace
    providers: tuple[str, ...]  # the providers of its live mappings
    parameters: list[str]  # its supported_parameters

    def json(self) -> bytes:
        return self.record + b"," + self.offers  # two JSON objects as one


OFFER_MEMO = 50_000  # distinct offer sets kept per list: most models share theirs (no offer, or the same providers)


def iter_model_parts(engine: Engine, at: AsOf, cache: RecordCache | None = None) -> Iterator[ModelPart]:
    """The catalog at `at` as OpenRouter models, streamed by model id, in parts (`select` filters and joins them)."""
    cache = cache or RecordCache(max_entries=0)
    memo: dict[OfferKey, tuple[bytes, tuple[str, ...], list[str]]] = {}
    for conn, batch in catalog_offers(engine, at):
        static = cache.get_many(conn, [v for v, _ in batch])
        for version_id, key in batch:
            found = memo.get(key)
            if found is None:
                offers = offer_rows(key)
                dynamic = offer_fields(offers)
                # Sliced: a right-sized copy (orjson's buffer would pin about 4 KB for each kept result).
                found = orjson.dumps(dynamic)[1:], tuple(o.provider for o in offers), dynamic["supported_parameters"]
                if len(memo) < OFFER_MEMO:
                    memo[key] = found
            yield ModelPart(static[version_id], *found)


def select(
    parts: Iterable[ModelPart], providers: frozenset[str] = frozenset(), parameters: frozenset[str] = frozenset()
) -> Iterator[bytes]:
    """Each model's JSON; `providers`: only models with a live mapping to one of them; `parameters`: only models
    whose supported_parameters include all of them (OpenRouter's filters)."""
    for part in parts:
        if providers and providers.isdisjoint(part.providers):
            continue
        if parameters and not parameters.issubset(part.parameters):
            continue
        yield part.json()


def iter_model_json(
    engine: Engine,
    at: AsOf,
    providers: frozenset[str] = frozenset(),
    parameters: frozenset[str] = frozenset(),
    cache: RecordCache | None = None,
) -> Iterator[bytes]:
    """The catalog at `at` as OpenRouter models (JSON bytes each), streamed by model id, filtered as `select`."""
    return select(iter_model_parts(engine, at, cache), providers, parameters)


def iter_models(engine: Engine, at: AsOf, **filters: Any) -> Iterator[dict[str, Any]]:
    """`iter_model_json`, parsed (for tests and callers that want dicts)."""
    return (orjson.loads(m) for m in iter_model_json(engine, at, **filters))


def uptime(ok_and_counted: tuple[int, int]) -> float | None:
    """Percent of counted probes that answered, None when no probe fell in the window."""
    ok, counted = ok_and_counted
    return round(100.0 * ok / counted, 2) if counted else None


def to_endpoint(record: dict[str, Any], row: EndpointRow) -> dict[str, Any]:
    """One `openrouter.components.PublicEndpoint` for a (model, provider) mapping."""
    offer = row.offer
    priced = offer.price_input is not None and offer.price_output is not None
    tools = bool(offer.supports_tools)
    latency = None
    if row.last_outcome == "ok" and row.last_latency_ms is not None:
        ms = float(row.last_latency_ms)  # one probe: every percentile is that probe's latency
        latency = {"p50": ms, "p75": ms, "p90": ms, "p99": ms}
    return {
        "name": f"{row.provider} | {record['id']}",
        "model_id": record["id"],
        "model_name": record.get("name") or record["id"],
        "provider_name": row.provider,
        "tag": row.provider,
        "status": ENDPOINT_STATUS.get(row.mapping_status, -1),
        "context_length": offer.context_length or 0,  # the SDK requires an integer; 0 when the router gives none
        "max_completion_tokens": None,
        "max_prompt_tokens": None,
        "pricing": {
            "prompt": per_token(offer.price_input) if priced else UNKNOWN_PRICE,
            "completion": per_token(offer.price_output) if priced else UNKNOWN_PRICE,
        },
        "supported_parameters": offer_parameters(offer),
        "supports_tool_choice": {"auto": tools, "none": tools, "required": tools, "function": tools},
        "supports_implicit_caching": False,
        "supports_diarization": False,
        "native_tools": {},
        "quantization": None,
        "service_tier": None,
        "uptime_last_5m": uptime(row.probes["5m"]),
        "uptime_last_30m": uptime(row.probes["30m"]),
        "uptime_last_1d": uptime(row.probes["1d"]),
        "latency_last_30m": latency,
        "throughput_last_30m": None,
        # Beyond OpenRouter's fields (clients ignore them): the Hub's own words and the latest probe.
        "hub_status": row.mapping_status,
        "provider_model_id": row.provider_model_id,
        "router_status": offer.status,
        "last_probe": None
        if row.last_checked_at is None
        else {"checked_at": row.last_checked_at, "outcome": row.last_outcome, "latency_ms": row.last_latency_ms},
    }


def endpoints_response(record: dict[str, Any], rows: Sequence[EndpointRow]) -> dict[str, Any]:
    """`operations.ListEndpointsResponse`: the model's header and one endpoint per mapping."""
    return {
        "data": {
            "id": record["id"],
            "name": record.get("name") or record["id"],
            "created": record.get("created") or 0,
            "description": record.get("description") or "",
            "architecture": architecture(record),
            "endpoints": [to_endpoint(record, row) for row in rows],
        }
    }


def model_list_json(models: Iterable[bytes]) -> Iterator[bytes]:
    """`{"data": [...]}` from each model's JSON bytes, streamed (what `hfsnap export --format openrouter` writes)."""
    yield b'{"data":['
    for i, model in enumerate(models):
        yield (b",\n" if i else b"\n") + model
    yield b"\n]}\n"
