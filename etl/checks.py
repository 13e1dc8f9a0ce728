"""Values every backend can store, checked before the database sees them: one rule for SQLite and PostgreSQL.

PostgreSQL refuses a VARCHAR over its length, a NUL byte in text and a BIGINT beyond 64 bits, and SQLite stores
all three: an item that either would refuse is rejected here, with its reason, so both backends keep the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import RejectItem

if TYPE_CHECKING:
    from .records import Offer

INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
MODEL_ID_MAX = 255
PROVIDER_MAX = 64
# Item field -> the width of the column it lands in (etl/schema.py).
_ITEM_STRINGS = {"author": 255, "pipeline_tag": 64, "library_name": 64, "createdAt": 32, "lastModified": 32}
MAPPING_STRINGS = {"providerId": 255, "task": 64, "adapter": 64}
_ITEM_INT64 = ("downloads", "likes", "downloadsAllTime")
LICENSE_MAX = 128


def check_id(value: str, what: str = "id", limit: int = MODEL_ID_MAX) -> None:
    """A key the backends can store: at most `limit` characters, no NUL."""
    if "\x00" in value:
        raise RejectItem(f"{what}: contains a NUL byte")
    if len(value) > limit:
        raise RejectItem(f"{what}: {len(value)} characters (at most {limit} are stored)")


def storable_id(value: Any) -> str | None:
    """`value` if it can be stored as a model id (for the rejects table), else None."""
    return value if isinstance(value, str) and "\x00" not in value and len(value) <= MODEL_ID_MAX else None


def storable_provider(value: str) -> bool:
    """Whether a provider id fits the providers table (the rule check_item applies to mappings)."""
    return "\x00" not in value and len(value) <= PROVIDER_MAX


def printable(text: str) -> str:
    """A reason or source fit for a text column: NUL bytes spelled out."""
    return text.replace("\x00", "\\0")


def _in_range(value: int | float, bounds: tuple[int, int]) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return bounds[0] <= value <= bounds[1]


def _check_number(value: Any, what: str, bounds: tuple[int, int]) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not _in_range(value, bounds):
        raise RejectItem(f"{what}: {value!r} is out of range ({'64' if bounds == INT64 else '32'}-bit integer)")


def _check_string(value: Any, what: str, limit: int) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise RejectItem(f"{what}: contains a NUL byte")
        if len(value) > limit:
            raise RejectItem(f"{what}: {len(value)} characters (at most {limit} are stored)")


def plain_tags(tags: list[Any]) -> bool:
    """Strings, none with a NUL, none longer than a licence tag may be: the common case, settled in C loops."""
    try:
        joined = "\n".join(tags)
    except TypeError:  # not all strings: the loop in check_item looks at each (parse_model rejects the list)
        return False
    return "\x00" not in joined and (not tags or max(map(len, tags)) <= LICENSE_MAX + 8)


def check_counters(item: dict[str, Any]) -> None:
    """RejectItem if a counter is beyond 64 bits or not finite (what check_item checks first)."""
    for key in _ITEM_INT64:
        _check_number(item.get(key), key, INT64)
    trending = item.get("trendingScore")
    if isinstance(trending, float) and not math.isfinite(trending):
        raise RejectItem(f"trendingScore: {trending!r} is not a finite number")


def check_item(item: dict[str, Any]) -> None:
    """RejectItem if a listing item holds a value no backend column can take (wrong types are parse_model's job)."""
    model_id = item.get("id")
    if model_id is None:
        model_id = item.get("modelId")  # old-shape items are read by it (records.item_id)
    if isinstance(model_id, str):
        check_id(model_id)
    check_counters(item)
    for key, limit in _ITEM_STRINGS.items():
        _check_string(item.get(key), key, limit)
    st = item.get("safetensors")
    if isinstance(st, dict):
        _check_number(st.get("total"), "safetensors.total", INT64)
    tags = item.get("tags")
    if isinstance(tags, list) and not plain_tags(tags):
        for tag in tags:
            if isinstance(tag, str):
                _check_string(tag, "tags", LICENSE_MAX + 8 if tag.startswith("license:") else 1 << 20)
    card = item.get("cardData")
    if isinstance(card, dict):
        _check_string(card.get("license"), "cardData.license", LICENSE_MAX)
    check_mappings(item.get("inferenceProviderMapping"))


def check_mappings(raw: Any) -> None:
    entries: Iterable[Any]
    if isinstance(raw, dict):
        for provider in raw:
            if isinstance(provider, str):
                check_id(provider, "inferenceProviderMapping provider", PROVIDER_MAX)
        entries = raw.values()
    elif isinstance(raw, list):
        entries = raw
    else:
        return
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        provider = entry.get("provider")
        if isinstance(provider, str):
            check_id(provider, "inferenceProviderMapping provider", PROVIDER_MAX)
        for key, limit in MAPPING_STRINGS.items():
            _check_string(entry.get(key), f"inferenceProviderMapping.{key}", limit)


def check_offers(model_id: str, offers: Iterable[Offer]) -> None:
    """RejectItem if a router entry holds a value no backend column can take."""
    check_id(model_id, "router entry id")
    for offer in offers:
        check_id(offer.provider, "router provider", PROVIDER_MAX)
        _check_string(offer.status, f"router status of {offer.provider}", 16)
        _check_number(offer.context_length, f"context_length of {offer.provider}", INT32)
        for value, what in ((offer.price_input, "input"), (offer.price_output, "output")):
            if value is not None and not math.isfinite(value):
                raise RejectItem(f"{what} price of {offer.provider}: {value!r} is not a finite number")
