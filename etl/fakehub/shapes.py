"""Item projections the Hub returns: default / full / expand listing items, dict-form model_info, malformed items."""

from __future__ import annotations

from typing import Any

from .listing import View
from .vocab import PROVIDER_ORG

# The key set (and order) of a listing item without full/expand, as recorded from the live Hub.
DEFAULT_KEYS = (
    "_id",
    "id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "modelId",
)
# full=true returns "most" data but not these (config/cardData have their own flags).
FULL_EXCLUDED = frozenset({"inferenceProviderMapping", "safetensors", "cardData", "config"})
_MAPPING = "inferenceProviderMapping"


def listing_item(item: dict[str, Any], view: View) -> dict[str, Any]:
    """One /api/models item; absent keys stay absent (never null)."""
    if view.expand:
        out = {"_id": item.get("_id"), "id": item.get("id")}
        for key in view.expand:
            if key in item:
                out[key] = item[key]
        return out
    if view.full:
        out = {k: v for k, v in item.items() if k not in FULL_EXCLUDED}
    else:
        out = {k: item[k] for k in DEFAULT_KEYS if k in item}
    if view.config and "config" in item:
        out["config"] = item["config"]
    if view.card_data and "cardData" in item:
        out["cardData"] = item["cardData"]
    return out


def model_info(item: dict[str, Any], expand: tuple[str, ...] = ()) -> dict[str, Any]:
    """GET /api/models/{id}: the full item (or _id, id + expanded keys) with the mapping in dict form."""
    if expand:
        out = {"_id": item.get("_id"), "id": item.get("id")}
        out.update((k, item[k]) for k in expand if k in item)
    else:
        out = dict(item)
    if _MAPPING in out:
        out[_MAPPING] = mapping_dict(out[_MAPPING], str(item.get("author") or item.get("id", "").partition("/")[0]))
    return out


def mapping_dict(mapping: Any, author: str) -> Any:
    """List-form mapping -> model_info's dict form keyed by provider (no `provider` inside, plus isModelAuthor)."""
    if not isinstance(mapping, list):
        return mapping  # already broken or dict-shaped: pass through untouched
    out: dict[str, dict[str, Any]] = {}
    for entry in mapping:
        if not isinstance(entry, dict) or "provider" not in entry:
            continue
        provider = entry["provider"]
        value = {k: v for k, v in entry.items() if k != "provider"}
        value["isModelAuthor"] = PROVIDER_ORG.get(provider, provider) == author
        out[provider] = value
    return out


def malformed(item: dict[str, Any], k: int) -> dict[str, Any]:
    """The k-th broken replacement (cycling): no `id`; wrong-typed downloads/tags; string mapping."""
    broken = dict(item)
    kind = k % 3
    if kind == 0:
        broken.pop("id", None)
    elif kind == 1:
        broken["downloads"] = "many"
        broken["tags"] = 7
    else:
        broken[_MAPPING] = "hf-inference"
    return broken


def drifted(item: dict[str, Any]) -> dict[str, Any]:
    """The item as the Hub's front-end feed shapes it: mapping entries with `modelStatus` instead of `status`."""
    mapping = item.get("inferenceProviderMapping")
    if not isinstance(mapping, list):
        return item
    renamed = [
        {("modelStatus" if k == "status" else k): v for k, v in m.items()} if isinstance(m, dict) else m
        for m in mapping
    ]
    return {**item, "inferenceProviderMapping": renamed}
