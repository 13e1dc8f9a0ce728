"""The boundary: each listed item is read once into a HubModel, a Known item (fingerprint stored) or a Reject."""

from __future__ import annotations

import pytest
from test_transform import ITEM

from etl.keyset import KeySet
from etl.records import NO_ID, HubModel, Known, Parser, Reject, fingerprint_key, to_model


def _known(item: dict) -> Parser:
    """A parser that has the item's fingerprint stored, as after a run that transformed it."""
    model = to_model(item)
    assert isinstance(model, HubModel)
    return Parser(KeySet([fingerprint_key(model.seen.raw_hash)]))


def test_a_known_item_is_read_light_with_what_extraction_needs_and_its_counters():
    full = to_model(ITEM)
    light = _known(ITEM)({**ITEM, "downloads": 99, "likes": 7})
    assert isinstance(full, HubModel) and isinstance(light, Known)
    assert (light.model_id, light.pipeline_tag, light.num_parameters) == (
        full.model_id,
        full.pipeline_tag,
        full.num_parameters,
    )
    assert sorted(light.providers) == sorted(full.providers) == ["groq", "together"]
    assert light.seen.raw_hash == full.seen.raw_hash and (light.seen.downloads, light.seen.likes) == (99, 7)


def test_a_changed_item_is_parsed_whole_even_with_a_known_fingerprint_set():
    changed = _known(ITEM)({**ITEM, "gated": "manual"})
    assert isinstance(changed, HubModel) and changed.gated == "manual"


@pytest.mark.parametrize(
    "patch, reason",
    [({"downloads": "many"}, "downloads: expected a number"), ({"author": "a" * 300}, "author: 300 characters")],
)
def test_a_known_item_with_bad_counters_or_unstorable_values_is_still_rejected(patch, reason):
    rejected = _known(ITEM)({**ITEM, **patch})
    assert isinstance(rejected, Reject) and rejected.model_id == ITEM["id"] and reason in rejected.reason


@pytest.mark.parametrize("item", [None, "acme/x", {"id": ""}, {"id": 7}, {"author": "acme"}])
def test_an_item_without_an_id_is_a_reject_with_no_id(item):
    rejected = to_model(item)
    assert isinstance(rejected, Reject) and rejected.model_id is None and rejected.reason == NO_ID
    assert rejected.item is item


def test_left_out_mapping_entries_keep_the_raw_item_for_the_reject_payload_and_name_their_provider():
    bad = {"provider": "fal-ai", "status": "live"}
    model = to_model({**ITEM, "inferenceProviderMapping": [*ITEM["inferenceProviderMapping"], bad]})
    assert isinstance(model, HubModel) and model.problems and model.raw is not None
    assert [m.provider for m in model.mappings] == ["groq", "together"]
    assert sorted(model.providers) == ["fal-ai", "groq", "together"]  # extraction still lists fal-ai's partition
    assert to_model(ITEM).raw is None  # a clean item keeps no reference to its dict


def test_a_rejected_items_providers_still_count_for_extraction():
    rejected = to_model({**ITEM, "tags": 3})
    assert isinstance(rejected, Reject) and sorted(rejected.providers) == ["groq", "together"]
