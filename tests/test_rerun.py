"""The listings start before the router's list is read: fingerprints still include it, and history is unchanged."""

from __future__ import annotations

import hashlib
import json
import threading

import orjson
import pytest
from test_transform import ITEM

from etl.extract import Batch, Extractor
from etl.fakehub.faults import parse_fault
from etl.keyset import KeySet
from etl.records import Again, HubModel, Known, Parser, parse_offers

pytestmark = pytest.mark.both_backends


def _priced_mapped_model(h) -> tuple[str, list[dict]]:
    """A served model whose router entry prices a provider its Hub mapping names."""
    for model_id, entries in sorted(h.catalog.router.items()):
        if model_id not in h.catalog.served_ids():
            continue
        mapped = {e["provider"] for e in h.catalog.models[model_id]["inferenceProviderMapping"]}
        if any(e.get("pricing") and e["provider"] in mapped for e in entries):
            return model_id, [dict(e) for e in entries]
    raise AssertionError("the fake catalog has no priced, mapped router entry")


def test_a_router_change_alone_still_versions_the_record(harness):
    """The router's digest is in every fingerprint: pages read before the list arrived wait for it."""
    h = harness()
    h.refresh()
    model_id, entries = _priced_mapped_model(h)
    mapped = {e["provider"] for e in h.catalog.models[model_id]["inferenceProviderMapping"]}
    priced = next(e for e in entries if e.get("pricing") and e["provider"] in mapped)
    priced["pricing"] = {"input": 123.0, "output": 456.0}
    h.catalog.set_router(model_id, entries)
    h.refresh()
    rows = h.sql("SELECT record, run_from FROM model_versions WHERE model_id = ? AND valid_to IS NULL", model_id)
    assert len(rows) == 1 and rows[0][1] == 2
    providers = {p["provider"]: p for p in orjson.loads(rows[0][0])["providers"]}
    assert providers[priced["provider"]]["price_input"] == 123.0
    # Nothing else moved: one model re-versioned, and a third run over the same Hub writes no SCD2 row.
    assert h.one("SELECT COUNT(*) FROM model_versions WHERE run_from = 2") == 1
    before = h.scd2_counts()
    h.refresh()
    assert h.scd2_counts() == before


def test_a_provider_only_the_router_names_is_listed_in_the_same_run(harness):
    h = harness()
    model_id, entries = _priced_mapped_model(h)
    h.catalog.set_router(model_id, [*entries, {"provider": "router-only-co", "status": "live"}])
    report = h.refresh()
    assert report.status == "complete"
    partition = json.dumps({"inference_provider": "router-only-co"}, separators=(",", ":"))
    assert h.sql('SELECT run_id, complete FROM run_sources WHERE "partition" = ?', partition) == [(1, 1)]
    assert h.one("SELECT known_to_client FROM providers WHERE provider = 'router-only-co'") == 0


def test_a_router_failing_mid_list_retires_nothing(harness):
    h = harness(faults=[parse_fault("truncate:times=0,after=1,path=/v1/models")])
    assert h.refresh().status == "complete"
    listed = h.one("SELECT COUNT(*) FROM models WHERE listed = 1")
    offers = h.one("SELECT COUNT(*) FROM provider_offers WHERE valid_to IS NULL")
    for _ in range(3):  # runs 2 to 4: past retire_after_misses = 2
        report = h.refresh()
        assert report.status == "partial" and any(reason.startswith("router:") for reason in report.incomplete)
    assert h.one("SELECT COUNT(*) FROM provider_offers WHERE valid_to IS NULL") == offers
    assert h.one("SELECT COUNT(*) FROM models WHERE listed = 1") == listed
    for table in ("provider_offers", "model_providers", "catalog_membership"):
        assert h.one(f"SELECT COUNT(*) FROM {table} WHERE run_to IS NOT NULL") == 0, table
    assert h.one("SELECT SUM(models_removed) FROM runs") == 0


class _Recording(Parser):
    """A waiting parser that notes whether it was settled when each item was read."""

    def __init__(self) -> None:
        super().__init__(waiting=True)
        self.unsettled_reads = 0

    def __call__(self, item):  # type: ignore[no-untyped-def]
        self.unsettled_reads += not self._ready.is_set()
        return super().__call__(item)


def test_started_listings_fetch_but_parse_nothing_until_settled(harness):
    h = harness()
    h.refresh()
    with h.client() as client:
        parse = _Recording()
        extractor = Extractor(client, h.config, parse=parse)
        try:
            extractor.start()
            # The workers fetch their first pages meanwhile; what they fetched waits for settle().
            fetched = threading.Event()
            for _ in range(200):
                if client.stats.requests >= 2:
                    fetched.set()
                    break
                threading.Event().wait(0.01)
            assert fetched.is_set()
            salts = {}
            for entry in client.router_models():
                model_id, offers = parse_offers(entry)
                salts[hash(model_id)] = hashlib.blake2b(repr(offers).encode(), digest_size=8).digest()
            parse.settle(KeySet(), salts)
            batches: list[Batch] = list(extractor.run())
        finally:
            extractor.close()
    assert parse.unsettled_reads == 0
    items = [e for b in batches for e in b.items]
    assert sum(isinstance(e, HubModel) for e in items) > 100  # nothing known: every item is parsed whole
    assert not any(isinstance(e, Known) for e in items)


def test_a_later_copy_of_a_taken_model_is_read_as_again_with_what_extraction_needs():
    parse = Parser()
    full = parse(dict(ITEM))
    assert isinstance(full, HubModel) and parse.take(hash(ITEM["id"])) and not parse.take(hash(ITEM["id"]))
    again = parse(dict(ITEM))
    assert isinstance(again, Again)
    assert (again.model_id, again.pipeline_tag, again.num_parameters) == (
        full.model_id,
        full.pipeline_tag,
        full.num_parameters,
    )
    assert sorted(again.providers) == sorted(full.providers)
    # Unchecked values a split could not use are dropped, never raised: the first copy was the one checked.
    odd = parse({**ITEM, "pipeline_tag": 7, "safetensors": {"total": "many"}})
    assert isinstance(odd, Again) and (odd.pipeline_tag, odd.num_parameters) == (None, None)
    assert isinstance(Parser()(dict(ITEM)), HubModel)  # taken ids belong to one parser (one run)


def test_the_router_digest_text_is_what_stored_fingerprints_were_made_with():
    """Offer became a NamedTuple: its repr, hashed into every served model's fingerprint, must not change."""
    entry = {
        "id": "a/b",
        "providers": [
            {"provider": "groq", "status": "live", "context_length": 8192, "pricing": {"input": 0.1, "output": 2}},
            {"provider": "fal", "supports_tools": True, "is_model_author": 0},
        ],
    }
    assert repr(parse_offers(entry)[1]) == (
        "(Offer(provider='fal', status=None, context_length=None, price_input=None, price_output=None, "
        "supports_tools=1, supports_structured_output=None, is_model_author=0), "
        "Offer(provider='groq', status='live', context_length=8192, price_input=0.1, price_output=2.0, "
        "supports_tools=None, supports_structured_output=None, is_model_author=None))"
    )
