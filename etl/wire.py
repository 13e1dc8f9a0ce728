"""The Hub's JSON as it comes: listing items and router entries read into msgspec structs, only what hfsnap uses.

A page is split into its items' JSON text (msgspec.Raw) at once; each item is then read (records.Parser) into the
struct its path needs, the fields hfsnap never reads skipped unread. Tests and fixtures hand dicts: `as_json`
encodes them, so every item takes the same reads.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import orjson

NULL = msgspec.Raw(b"null")


class Item(
    msgspec.Struct,
    rename={
        "model_id": "modelId",
        "hub_id": "_id",
        "created": "createdAt",
        "modified": "lastModified",
        "mapping": "inferenceProviderMapping",
        "card": "cardData",
        "trending": "trendingScore",
        "dl_all": "downloadsAllTime",
    },
):
    """An item as sent, read without building it: the id and the counters are values; every other field a HubModel
    is built from stays JSON text (Raw), decoded only when needed. Equal text there (and an equal id) means an
    equal record, so its hash (the fingerprint, Seen.raw_hash) tells the parser a model it has already transformed.
    A missing field reads as null, as dict.get did; fields the transform does not read are skipped unread."""

    id: object = None
    model_id: object = None
    hub_id: msgspec.Raw = NULL
    author: msgspec.Raw = NULL
    created: msgspec.Raw = NULL
    modified: msgspec.Raw = NULL
    gated: msgspec.Raw = NULL
    private: msgspec.Raw = NULL
    tags: msgspec.Raw = NULL
    pipeline_tag: msgspec.Raw = NULL
    library_name: msgspec.Raw = NULL
    safetensors: msgspec.Raw = NULL
    mapping: msgspec.Raw = NULL
    card: msgspec.Raw = NULL
    downloads: object = None
    likes: object = None
    trending: object = None
    dl_all: object = None


class SafeTensors(msgspec.Struct):
    total: object = None


class Total(msgspec.Struct):
    total: int | float | None = None


read_item = msgspec.json.Decoder(Item).decode
read_safetensors = msgspec.json.Decoder(SafeTensors | None).decode
read_value = msgspec.json.Decoder().decode


class Entry(msgspec.Struct):
    provider: object = None


read_entries = msgspec.json.Decoder(list[Entry] | dict[str, object] | None).decode


class MappingEntry(msgspec.Struct, rename={"provider_model_id": "providerId"}):
    """A listing's mapping entry with every field parse_mappings needs, each of its type: any other entry (a field
    missing, null or of another type) fails the read, and the item's mapping is then read the dict way."""

    provider: str
    provider_model_id: str
    status: str
    task: str
    adapter: str | None = None


read_mapping = msgspec.json.Decoder(list[MappingEntry] | None).decode
SEP = b"\x1e"  # never in JSON text: control characters in strings are escaped


def as_json(item: Any) -> bytes | msgspec.Raw:
    """An item as JSON text: a page's items already are (msgspec.Raw); a dict (a test's, a fixture's) is encoded,
    so there is one fingerprint recipe: the text as sent."""
    if isinstance(item, (msgspec.Raw, bytes)):
        return item
    try:
        return orjson.dumps(item)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: the standard library writes it
        return json.dumps(item).encode()


def as_dict(text: bytes | msgspec.Raw) -> Any:
    """An item's JSON text as Python values, the way every item was always read (orjson: a huge integer becomes a
    float, as before). ValueError (orjson's JSONDecodeError) for text it refuses."""
    return orjson.loads(memoryview(text))


class Ids(msgspec.Struct, rename={"model_id": "modelId"}):
    id: object = None
    model_id: object = None


read_ids = msgspec.json.Decoder(Ids).decode


def raw_item_id(text: bytes | msgspec.Raw) -> str | None:
    """item_id of an item's JSON text (None for anything that is not an object with an id); its other fields are
    skipped unread."""
    try:
        it = read_ids(text)
    except msgspec.DecodeError:
        return None
    return id_of(it.id, it.model_id)


def id_of(value: object, legacy: object) -> str | None:
    if value is None:
        value = legacy
    return value if isinstance(value, str) and value.strip() else None


def loaded(text: Any) -> Any:
    """An item (or router entry) for a rejects row: the values of JSON text, or the text if even that cannot be
    decoded; anything else as it is."""
    if not isinstance(text, (msgspec.Raw, bytes)):
        return text
    try:
        return as_dict(text)
    except ValueError:
        return bytes(text).decode("utf-8", "replace")


class Full(msgspec.Struct, rename={"created": "createdAt", "modified": "lastModified", "card": "cardData"}):
    """A new item in the types parse_model accepts: one that is not (or holds what check_item refuses) is read the
    dict way instead, which names what is wrong with it."""

    author: str | None = None
    created: str | None = None
    modified: str | None = None
    gated: bool | str | None = None
    private: bool | None = None
    tags: list[str] | None = None
    pipeline_tag: str | None = None
    library_name: str | None = None
    safetensors: Total | None = None
    card: msgspec.Raw = NULL


class Card(msgspec.Struct):
    license: object = None


read_full = msgspec.json.Decoder(Full).decode
read_card = msgspec.json.Decoder(Card | None).decode


class Pricing(msgspec.Struct):
    input: object = None
    output: object = None


class RouterOffer(msgspec.Struct):
    provider: object = None
    status: object = None
    context_length: object = None
    pricing: Pricing | None = None
    supports_tools: object = None
    supports_structured_output: object = None
    is_model_author: object = None


class RouterEntry(msgspec.Struct):
    id: object = None
    providers: list[RouterOffer] | None = None


read_router_entry = msgspec.json.Decoder(RouterEntry).decode


read_page = msgspec.json.Decoder(list[msgspec.Raw]).decode  # a listing page: checked whole, its items left as text


class RouterList(msgspec.Struct):
    data: list[msgspec.Raw]


read_router = msgspec.json.Decoder(RouterList).decode
