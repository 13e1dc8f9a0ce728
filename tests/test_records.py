"""The boundary: each listed item is read once into a HubModel, a Known item (fingerprint stored) or a Reject."""

from __future__ import annotations

import orjson
import pytest
from test_transform import ITEM

from etl.config import HubConfig
from etl.hub import HubClient
from etl.keyset import KeySet
from etl.records import NO_ID, HubModel, Known, Parser, Reject, fingerprint_key, to_model
from etl.transform import to_row
from etl.wire import as_json


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


def _page(items: list[bytes]) -> list:
    """A listing page as HubClient reads it: checked whole, its items left as JSON text."""
    body, problem = HubClient._decode(HubClient(HubConfig()), _Response(), b"[" + b",".join(items) + b"]", list)
    assert problem is None
    return body


class _Response:
    url = "https://huggingface.co/api/models"


def test_a_number_no_float_holds_rejects_its_item_not_the_page():
    """Before items were read one by one, such a number failed the whole page (and so its listing). Now the item
    that holds one where hfsnap reads is rejected alone; in a field it never reads, it is not even looked at."""
    items = [
        b'{"id": "acme/inf-counter", "downloads": 1e400}',
        orjson.dumps(ITEM),
        b'{"id": "acme/inf-params", "safetensors": {"total": -1e999}}',
        b'{"id": "acme/inf-unread", "cardData": {"x": 1e999}, "siblings": [1e999]}',
    ]
    first, model, params, unread = (Parser()(item) for item in _page(items))
    assert isinstance(model, HubModel) and model.model_id == ITEM["id"]
    assert isinstance(unread, HubModel) and unread.model_id == "acme/inf-unread"
    for reject, model_id in ((first, "acme/inf-counter"), (params, "acme/inf-params")):
        assert isinstance(reject, Reject) and reject.model_id == model_id
        assert reject.reason.startswith("item: unreadable") and "1e" in str(reject.item)


def test_the_fingerprint_is_of_the_text_as_sent_and_the_same_for_a_dict_and_a_page_item():
    """Pages are read as text; tests and fixtures hand dicts: both take one recipe. Text that differs (keys of a
    card reordered) is another fingerprint, so the item is transformed again, to the same record."""
    as_text = Parser()(_page([orjson.dumps(ITEM)])[0])
    as_dict = to_model(ITEM)
    assert isinstance(as_text, HubModel) and isinstance(as_dict, HubModel)
    assert as_text.seen.raw_hash == as_dict.seen.raw_hash
    card = {"license": "mit", "language": ["en"]}
    with_card = to_model({**ITEM, "cardData": card})
    reordered = to_model({**ITEM, "cardData": dict(reversed(card.items()))})
    assert isinstance(with_card, HubModel)
    assert isinstance(reordered, HubModel) and reordered.seen.raw_hash != with_card.seen.raw_hash
    assert to_row(reordered, ()).row_hash == to_row(with_card, ()).row_hash
    assert isinstance(_known(ITEM)(_page([orjson.dumps({**ITEM, "downloads": 5})])[0]), Known)


def test_a_counter_beyond_64_bits_in_a_known_item_is_rejected():
    reject = _known(ITEM)(
        _page([orjson.dumps(ITEM).replace(b'"downloads":', b'"downloads":1' + b"0" * 30 + b',"x":')])[0]
    )
    assert isinstance(reject, Reject) and reject.model_id == ITEM["id"] and "out of range" in reject.reason


def _variants() -> list[dict]:
    """ITEM changed one way each: every shape the typed read must leave to the dict path, and some it must not."""
    mapping = ITEM["inferenceProviderMapping"]
    changes: list[dict] = [
        {},
        {"gated": 0},
        {"gated": "auto"},
        {"gated": True},
        {"gated": "weird"},
        {"private": "yes"},
        {"private": None},
        {"tags": ["a\x00b"]},
        {"tags": [3]},
        {"tags": None},
        {"tags": ["x" * 200]},
        {"author": "a" * 300},
        {"author": None},
        {"pipeline_tag": 7},
        {"createdAt": "yesterday"},
        {"createdAt": None},
        {"safetensors": {"total": True}},
        {"safetensors": {"total": 2**70}},
        {"safetensors": {"total": 10**400}},
        {"safetensors": {"total": -(10**30), "parameters": {}}},
        {"safetensors": {"total": 7.0, "parameters": {"F16": 7}}},
        {"safetensors": [1]},
        {"cardData": [1]},
        {"cardData": {"license": 5}},
        {"cardData": {"license": "l" * 200}},
        {"cardData": {"license": "mit", "other": {"deep": [1, None]}}},
        {"inferenceProviderMapping": [*mapping, {"provider": "x"}]},
        {"inferenceProviderMapping": [{"provider": "x"}]},
        {"inferenceProviderMapping": {m["provider"]: {k: v for k, v in m.items() if k != "provider"} for m in mapping}},
        {"inferenceProviderMapping": "groq"},
        {"inferenceProviderMapping": [*mapping, {**mapping[0], "provider": "z", "status": ["live"]}]},
        {"inferenceProviderMapping": [{**mapping[0], "providerId": "p\x00"}]},
        {"inferenceProviderMapping": [*reversed(mapping), {**mapping[0], "provider": "a-first", "extra": [1]}]},
        {"inferenceProviderMapping": [*mapping, {**mapping[0], "status": "staging"}]},
        {"inferenceProviderMapping": [{**mapping[0], "status": "gone"}]},
        {"inferenceProviderMapping": [{**mapping[0], "provider": ""}]},
        {"inferenceProviderMapping": [{**mapping[0], "provider": "p" * 65}]},
        {"inferenceProviderMapping": [{**mapping[0], "provider": "p\x00"}]},
        {"inferenceProviderMapping": [{**mapping[0], "providerId": None}]},
        {"inferenceProviderMapping": [{**mapping[0], "task": 5}]},
        {"inferenceProviderMapping": [{**mapping[0], "task": "t" * 65}]},
        {"inferenceProviderMapping": [{**mapping[0], "adapter": 5}]},
        {"inferenceProviderMapping": [{**mapping[0], "adapter": "lora"}]},
        {"inferenceProviderMapping": [{**mapping[0], "adapter": "a" * 65}]},
        {"inferenceProviderMapping": [{k: v for k, v in mapping[0].items() if k != "task"}]},
        {"inferenceProviderMapping": [[1]]},
        {"inferenceProviderMapping": []},
        {"inferenceProviderMapping": None},
        {"downloads": "many"},
        {"downloads": None, "likes": None, "trendingScore": None},
        {"likes": 2**63},
        {"id": "acme/" + "x" * 300},
        {"id": "acme/a\x00b"},
    ]
    return [{**ITEM, **change} for change in changes]


@pytest.mark.parametrize("item", _variants())
def test_a_page_item_read_typed_gives_what_the_dict_path_gives(item):
    """The typed read (msgspec, page items) is only a faster way to the same HubModel; whatever it cannot vouch for
    takes the dict path, so both give equal models and equal reasons."""
    from_text = Parser()(_page([as_json(item)])[0])
    from_dict = Parser()(item)
    assert type(from_text) is type(from_dict)
    if isinstance(from_dict, Reject):
        assert from_text.model_id == from_dict.model_id
        try:
            orjson.dumps(item)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits: text decoding may refuse it (a reason of its own)
            return
        assert from_text.reason.split(":")[0] == from_dict.reason.split(":")[0] and from_text.item == from_dict.item
    else:
        assert from_text == from_dict
