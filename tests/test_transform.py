"""The transformer: gateway schema, canonical hashing, and rejects for malformed items."""

from __future__ import annotations

import json

import pytest

from etl.transform import RejectItem, fingerprint, parse_mappings, parse_offers, to_row

ITEM = {
    "_id": "0123456789abcdef01234567",
    "id": "acme/chat-7b",
    "author": "acme",
    "createdAt": "2025-03-01T10:00:00.000Z",
    "lastModified": "2025-04-01T10:00:00.000Z",
    "gated": "auto",
    "private": False,
    "downloads": 10,
    "likes": 2,
    "trendingScore": 0.5,
    "tags": ["transformers", "license:apache-2.0", "text-generation"],
    "pipeline_tag": "image-text-to-text",
    "library_name": "transformers",
    "safetensors": {"parameters": {"BF16": 7_000_000_000}, "total": 7_000_000_000},
    "inferenceProviderMapping": [
        {"provider": "together", "providerId": "acme/chat-7b", "status": "live", "task": "conversational"},
        {"provider": "groq", "providerId": "chat-7b", "status": "staging", "task": "conversational"},
    ],
}
OFFERS = parse_offers(
    {
        "id": "acme/chat-7b",
        "providers": [
            {
                "provider": "together",
                "status": "live",
                "context_length": 32768,
                "pricing": {"input": 0.2, "output": 0.6},
            },
            {"provider": "groq", "status": "live", "context_length": 8192, "pricing": {"input": 0.1, "output": 0.1}},
        ],
    }
)[1]


def test_gateway_record_shape():
    row = to_row(ITEM, OFFERS)
    rec = json.loads(row.record)
    assert rec["id"] == "acme/chat-7b" and rec["source_gateway"] == "hug" and rec["provider_slug"] == "acme"
    assert rec["architecture"]["modality"] == "text+image->text"
    assert rec["context_length"] == 8192  # the cheapest live offer (groq) gives context and price
    assert rec["pricing"]["prompt"] == "0.0000001"
    assert [p["provider"] for p in rec["providers"]] == ["groq", "together"]
    assert rec["huggingface_metrics"]["num_parameters"] == 7_000_000_000
    assert "downloads" not in rec["huggingface_metrics"] and "likes" not in rec["huggingface_metrics"]
    assert row.license == "apache-2.0" and row.gated == "auto"


def test_hash_ignores_order_and_counters():
    a = to_row(ITEM, OFFERS)
    b = to_row(
        {
            **ITEM,
            "tags": list(reversed(ITEM["tags"])),
            "downloads": 999,
            "likes": 7,
            "trendingScore": 3,
            "inferenceProviderMapping": list(reversed(ITEM["inferenceProviderMapping"])),
        },
        OFFERS,
    )
    assert a.row_hash == b.row_hash
    assert a.row_hash != to_row({**ITEM, "gated": "manual"}, OFFERS).row_hash


def test_dict_form_mapping_equals_list_form():
    as_dict = {m["provider"]: {k: v for k, v in m.items() if k != "provider"} for m in ITEM["inferenceProviderMapping"]}
    assert parse_mappings(as_dict) == parse_mappings(ITEM["inferenceProviderMapping"])


def test_missing_fields_are_none_not_errors():
    row = to_row({"id": "solo/model"})
    assert row.pipeline_tag is None and row.num_parameters is None and row.gated == "false" and row.mappings == ()


@pytest.mark.parametrize(
    "patch, reason",
    [
        ({"id": None}, "without an id"),
        ({"downloads": "many"}, "downloads"),
        ({"tags": 3}, "tags"),
        ({"inferenceProviderMapping": "groq"}, "unknown shape"),
        ({"inferenceProviderMapping": [{"provider": "groq", "status": "weird"}]}, "unknown status"),
        ({"gated": "sometimes"}, "gated"),
        ({"private": "no"}, "private"),
    ],
)
def test_malformed_items_are_rejected_with_a_reason(patch, reason):
    item = {**ITEM, **patch}
    with pytest.raises(RejectItem, match=reason):
        fingerprint(item) if item.get("id") else None  # the counters are checked here
        to_row(item)


def test_fingerprint_ignores_counters_but_not_content():
    a = fingerprint(dict(ITEM))
    assert a.raw_hash == fingerprint({**ITEM, "downloads": 5, "likes": 1, "trendingScore": 9.5}).raw_hash
    assert a.raw_hash != fingerprint({**ITEM, "gated": "manual"}).raw_hash
    assert a.raw_hash != fingerprint(dict(ITEM), salt=b"router entry changed").raw_hash
    assert (a.downloads, a.likes, a.trending_score) == (10, 2, 0.5)
