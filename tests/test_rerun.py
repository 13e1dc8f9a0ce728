"""The listings start before the router's list is read: fingerprints still include it, and history is unchanged."""

from __future__ import annotations

import json
import threading

import orjson
import pytest
from test_transform import ITEM

from etl.extract import Batch, Extractor
from etl.fakehub.faults import parse_fault
from etl.keyset import KeySet
from etl.load import _stored_offer
from etl.records import Again, HubModel, Known, Parser, parse_offers, router_salt, router_text

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
                salts[hash(model_id)] = router_salt(offers)
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


def test_the_router_digest_text_is_pinned_and_the_same_for_offers_read_back_from_storage():
    """Every served model's fingerprint hashes this text: a change of it must bump TRANSFORM_VERSION. Offers read
    back from storage (a router list not read whole) must give the same text, or their models would be versioned."""
    entry = {
        "id": "a/b",
        "providers": [
            {"provider": "groq", "status": "live", "context_length": 8192, "pricing": {"input": 0.1, "output": 2}},
            {"provider": "fal", "supports_tools": True, "is_model_author": 0},
        ],
    }
    offers = parse_offers(entry)[1]
    assert router_text(offers) == (
        b'[["fal",null,null,null,null,1,null,0],["groq","live",8192,0.1,2.0,null,null,null]]'
    )
    stored = tuple(_stored_offer(tuple(o)) for o in offers)  # as load.stage_stored_offers reads them back
    assert router_salt(stored) == router_salt(offers)
    assert router_salt(tuple(_stored_offer((*o[:5], True, None, False)) for o in offers[:1])) == router_salt(
        (offers[0]._replace(supports_tools=1, is_model_author=0),)
    )  # PostgreSQL hands booleans back: flags become 0/1 again


def test_a_router_that_fails_changes_no_record(harness):
    """A failed source changes nothing stored: the models it prices keep their prices, no version is written."""
    h = harness()
    assert h.refresh().status == "complete"
    before = h.sql("SELECT model_id, version_id, record FROM model_versions WHERE valid_to IS NULL ORDER BY model_id")
    priced = h.one("SELECT COUNT(*) FROM catalog WHERE pricing_prompt IS NOT NULL")
    h.app.faults.append(parse_fault("status:code=500,times=0,path=/v1/models"))
    report = h.refresh()
    assert report.status == "partial" and any(reason.startswith("router:") for reason in report.incomplete)
    assert h.one("SELECT COUNT(*) FROM model_versions WHERE run_from = 2") == 0
    after = h.sql("SELECT model_id, version_id, record FROM model_versions WHERE valid_to IS NULL ORDER BY model_id")
    assert after == before
    assert h.one("SELECT COUNT(*) FROM catalog WHERE pricing_prompt IS NOT NULL") == priced > 0
    h.app.faults.clear()  # the router answers again: nothing was taken away, so nothing comes back
    assert h.refresh().status == "complete"
    assert h.one("SELECT COUNT(*) FROM model_versions WHERE run_from = 3") == 0


def test_router_offers_held_in_memory_give_the_records_staged_offers_give(harness, monkeypatch):
    """A router list read whole serves the transform its offers from memory; a longer one (past OFFERS_HELD
    entries), from staging: the same records either way."""
    from etl import pipeline
    from etl.load import Loader

    lookups: list[int] = []
    staged_lookup = Loader._offers_for
    monkeypatch.setattr(Loader, "_offers_for", lambda self, ids: lookups.append(len(ids)) or staged_lookup(self, ids))
    held = harness()
    held.refresh()
    assert lookups == []
    monkeypatch.setattr(pipeline, "OFFERS_HELD", 0)
    staged = harness()
    staged.refresh()
    assert sum(lookups) > 0
    query = "SELECT model_id, row_hash, record FROM model_versions ORDER BY model_id"
    rows = held.sql(query)
    assert rows == staged.sql(query)
    assert sum(orjson.loads(r[2])["pricing"]["prompt"] is not None for r in rows) > 10  # priced records compared
