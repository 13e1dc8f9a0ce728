"""Pure functions: a HubModel (+ its router offers) -> the gateway record and the rows of the history tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .modalities import modalities
from .records import HubModel, Mapping, Offer, canonical_json


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


def to_row(model: HubModel, offers: tuple[Offer, ...] = ()) -> ModelRow:
    """The loader's row of one model: its gateway record (without counters, which are Seen's) and its hash."""
    record_json = canonical_json(_record(model, offers))
    return ModelRow(
        model_id=model.model_id,
        author=model.author,
        pipeline_tag=model.pipeline_tag,
        library_name=model.library_name,
        gated=model.gated,
        private=int(model.private),
        created_at=model.created_at,
        last_modified=model.last_modified,
        num_parameters=model.num_parameters,
        license=model.license,
        tags=canonical_json(model.tags).decode(),
        row_hash=hashlib.sha1(record_json).hexdigest(),
        record=record_json.decode(),
        mappings=model.mappings,
        problems=model.problems,
    )


def _record(model: HubModel, offers: tuple[Offer, ...]) -> dict[str, Any]:
    """The gateway-schema record (SPEC section 6) without volatile counters."""
    model_id, author, pipeline_tag = model.model_id, model.author, model.pipeline_tag
    name = model_id.split("/", 1)[-1]
    inputs, outputs = modalities(pipeline_tag)
    best = _cheapest(offers, model.mappings)
    by_provider = {o.provider: o for o in offers}
    return {
        "id": model_id,
        "name": name,
        "slug": model_id.lower(),
        "hugging_face_id": model_id,
        "provider_slug": author,
        "provider_site_url": f"https://huggingface.co/{author}" if author else None,
        "source_gateway": "hug",
        "created": model.created_epoch,
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
            "num_parameters": model.num_parameters,
            "gated": model.gated,
            "private": model.private,
            "last_modified": model.last_modified,
            "author": author,
            "url": f"https://huggingface.co/{model_id}",
        },
        "providers": [_provider_entry(m, by_provider.get(m.provider)) for m in model.mappings],
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
