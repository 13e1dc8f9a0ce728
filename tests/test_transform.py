"""The transformer: gateway schema, canonical hashing, and rejects for malformed items."""

from __future__ import annotations

import json

import pytest

from etl.errors import RejectItem
from etl.records import HubModel, Offer, Parser, item_id, parse_mappings, parse_offers, to_model
from etl.transform import ModelRow, to_row

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
        {"provider": "groq", "providerId": "chat-7b", "status": "live", "task": "conversational"},
    ],
}


def parse(item: object) -> HubModel:
    """The boundary's parse: a HubModel, or RejectItem with the reason the reject row would carry."""
    model = to_model(item)
    if not isinstance(model, HubModel):
        raise RejectItem(model.reason)
    return model


def transformed(item: object, offers: tuple[Offer, ...] = ()) -> ModelRow:
    return to_row(parse(item), offers)


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
    row = transformed(ITEM, OFFERS)
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
    a = transformed(ITEM, OFFERS)
    b = transformed(
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
    assert a.row_hash != transformed({**ITEM, "gated": "manual"}, OFFERS).row_hash


def test_dict_form_mapping_equals_list_form():
    as_dict = {m["provider"]: {k: v for k, v in m.items() if k != "provider"} for m in ITEM["inferenceProviderMapping"]}
    assert parse_mappings(as_dict) == parse_mappings(ITEM["inferenceProviderMapping"])


def test_missing_fields_are_none_not_errors():
    row = transformed({"id": "solo/model"})
    assert row.pipeline_tag is None and row.num_parameters is None and row.gated == "false" and row.mappings == ()


@pytest.mark.parametrize(
    "patch, reason",
    [
        ({"id": None}, "without an id"),
        ({"downloads": "many"}, "downloads"),
        ({"tags": 3}, "tags"),
        ({"inferenceProviderMapping": "groq"}, "unknown shape"),
        ({"gated": "sometimes"}, "gated"),
        ({"private": "no"}, "private"),
    ],
)
def test_malformed_items_are_rejected_with_a_reason(patch, reason):
    item = {**ITEM, **patch}
    with pytest.raises(RejectItem, match=reason):
        parse(item)


def test_fingerprint_ignores_counters_but_not_content():
    a = parse(dict(ITEM)).seen
    assert a.raw_hash == parse({**ITEM, "downloads": 5, "likes": 1, "trendingScore": 9.5}).seen.raw_hash
    assert a.raw_hash != parse({**ITEM, "gated": "manual"}).seen.raw_hash
    salted = Parser(salts={hash(ITEM["id"]): b"router entry changed"})(dict(ITEM))
    assert isinstance(salted, HubModel) and a.raw_hash != salted.seen.raw_hash
    assert (a.downloads, a.likes, a.trending_score) == (10, 2, 0.5)


def _entry(provider: str, status: str = "live", **extra) -> dict:
    return {
        "provider": provider,
        "providerId": f"{provider}/chat-7b",
        "status": status,
        "task": "conversational",
        **extra,
    }


@pytest.mark.parametrize(
    "entry, reason",
    [
        (
            {"provider": "hf-inference", "status": "live"},
            "inferenceProviderMapping[hf-inference]: missing providerId, task",
        ),
        (
            {"provider": "groq", "providerId": "x", "task": "conversational"},
            "inferenceProviderMapping[groq]: missing status",
        ),
        ({"provider": "groq", "providerId": "x", "status": None, "task": "t"}, "missing status"),
        ({"provider": "groq", "providerId": "x", "status": "weird", "task": "t"}, "unknown status 'weird'"),
        ({"provider": "groq", "providerId": 7, "status": "live", "task": "t"}, "providerId and task must be strings"),
        ({"status": "live", "providerId": "x", "task": "t"}, "entry without a provider"),
        ("groq", "entry is str"),
    ],
)
def test_a_malformed_entry_is_left_out_with_its_reason_and_the_rest_loads(entry, reason):
    row = transformed({**ITEM, "inferenceProviderMapping": [_entry("together"), entry]})
    assert [m.provider for m in row.mappings] == ["together"]
    assert len(row.problems) == 1 and reason in row.problems[0]


def test_dict_form_entry_missing_keys_is_left_out():
    mapping = {"fal-ai": {"status": "live"}, "replicate": {"status": "staging", "providerId": "r/x", "task": "t"}}
    mappings, problems = parse_mappings(mapping)
    assert [(m.provider, m.status) for m in mappings] == [("replicate", "staging")]
    assert problems == ("inferenceProviderMapping[fal-ai]: missing providerId, task",)


@pytest.mark.parametrize(
    "statuses, kept",
    [
        (("staging", "live"), "live"),
        (("live", "staging"), "live"),
        (("error", "staging"), "staging"),
        (("staging", "error"), "staging"),
        (("error", "live", "staging"), "live"),
    ],
)
def test_the_same_provider_twice_live_beats_staging_beats_error(statuses, kept):
    entries = [_entry("groq", s, providerId=f"groq-{i}") for i, s in enumerate(statuses)]
    mappings, problems = parse_mappings(entries)
    assert [m.status for m in mappings] == [kept]
    assert len(problems) == len(statuses) - 1 and all("groq]: duplicate entry" in p for p in problems)


def test_the_same_provider_twice_with_one_status_keeps_the_first():
    mappings, problems = parse_mappings([_entry("groq", providerId="first"), _entry("groq", providerId="second")])
    assert [m.provider_model_id for m in mappings] == ["first"] and problems


def test_list_entries_with_every_extra_key_parse():
    entry = _entry(
        "fal-ai", adapter="lora", adapterWeightsPath="lora.safetensors", isModelAuthor=False, type="single-model"
    )
    nulls = _entry("groq", adapter=None, adapterWeightsPath=None, isModelAuthor=True)
    mappings, problems = parse_mappings([entry, nulls])
    assert problems == () and [(m.provider, m.adapter) for m in mappings] == [("fal-ai", "lora"), ("groq", None)]


def test_old_shape_item_takes_model_id():
    old = {k: v for k, v in ITEM.items() if k != "id"} | {"modelId": "acme/chat-7b"}
    assert item_id(old) == "acme/chat-7b" and transformed(old).model_id == "acme/chat-7b"
    assert parse(old).seen.model_id == "acme/chat-7b"
    assert item_id({"id": None, "modelId": "a/b"}) == "a/b" and item_id({"modelId": 3}) is None


def test_explicit_nulls_are_absent_values():
    nulls = {"pipeline_tag": None, "library_name": None, "model-index": None, "cardData": None, "safetensors": None}
    row = transformed({**ITEM, **nulls, "inferenceProviderMapping": None})
    assert row.pipeline_tag is None and row.library_name is None and row.num_parameters is None and row.mappings == ()


def test_catalog_price_and_context_only_from_mapped_live_providers():
    offers = parse_offers(
        {
            "id": "acme/chat-7b",
            "providers": [
                {
                    "provider": "nebius",
                    "status": "live",
                    "context_length": 1_000_000,
                    "pricing": {"input": 0, "output": 0},
                },
                {"provider": "groq", "status": "live", "context_length": 8192, "pricing": {"input": 1, "output": 2}},
                {
                    "provider": "together",
                    "status": "live",
                    "context_length": 32768,
                    "pricing": {"input": 3, "output": 4},
                },
            ],
        }
    )[1]
    staging = [_entry("together"), _entry("groq", "staging")]
    rec = json.loads(transformed({**ITEM, "inferenceProviderMapping": staging}, offers).record)
    assert rec["context_length"] == 32768 and rec["pricing"]["prompt"] == "0.000003"  # nebius unmapped, groq staging
    assert [p["provider"] for p in rec["providers"]] == ["groq", "together"]
    rec = json.loads(transformed({**ITEM, "inferenceProviderMapping": []}, offers).record)
    assert rec["context_length"] is None and rec["pricing"]["prompt"] is None


@pytest.mark.parametrize(
    "provider, expect",
    [
        ({"provider": "a", "status": "live", "pricing": {"input": 1, "output": 3}}, (None, 1.0, 3.0)),
        ({"provider": "a", "status": "live", "context_length": 4096}, (4096, None, None)),
        ({"provider": "a", "pricing": {"input": 0.25, "output": 1}}, (None, 0.25, 1.0)),
        ({"provider": "a", "is_model_author": False}, (None, None, None)),
    ],
)
def test_router_entries_pricing_without_context_context_without_pricing_integers_no_status(provider, expect):
    (offer,) = parse_offers({"id": "m/x", "providers": [provider]})[1]
    assert (offer.context_length, offer.price_input, offer.price_output) == expect
    assert offer.status == provider.get("status")


@pytest.mark.parametrize(
    "mapping",
    [
        [{"provider": "hf-inference", "status": "live"}],
        [{"provider": "groq", "modelStatus": "live", "providerId": "x", "task": "conversational"}],
        {"fal-ai": {"status": "live"}},
    ],
)
def test_an_item_with_no_usable_entry_is_rejected_whole(mapping):
    with pytest.raises(RejectItem, match=r"inferenceProviderMapping\[[a-z-]+\]: missing"):
        transformed({**ITEM, "inferenceProviderMapping": mapping})
