"""Real Hub shapes end to end: strict mapping entries, duplicates, old-shape items, unmapped router offers, providers
that disappear, the num_parameters suffix form and listings that are an exact multiple of the page size."""

from __future__ import annotations

import dataclasses
import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from etl.config import SourceConfig
from etl.extract import format_count, round_count
from etl.fakehub import parse_fault

pytestmark = pytest.mark.both_backends
GONE = "hyperbolic"  # a provider huggingface_hub does not know (one of those HF removed in 2026), served by the fake


def _entry(provider: str, status: str = "live", **extra) -> dict:
    return {"provider": provider, "providerId": f"{provider}-id", "status": status, "task": "conversational", **extra}


def _one_served(h, n_providers: int = 1) -> str:
    return next(
        m
        for m in sorted(h.catalog.served_ids())
        if len(h.catalog.models[m]["inferenceProviderMapping"]) >= n_providers
        and "hf-inference" not in {e["provider"] for e in h.catalog.models[m]["inferenceProviderMapping"]}
    )


def _mappings(h, model_id: str) -> dict[str, tuple]:
    rows = h.sql(
        "SELECT provider, status, provider_model_id FROM model_providers WHERE model_id = ? AND valid_to IS NULL",
        model_id,
    )
    return {p: (s, pid) for p, s, pid in rows}


def _partition(provider: str) -> str:
    return json.dumps({"inference_provider": provider}, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------- mapping entries
def test_entry_missing_required_keys_is_rejected_and_valid_entries_load(harness):
    h = harness()
    model_id = _one_served(h)
    valid = [dict(e) for e in h.catalog.models[model_id]["inferenceProviderMapping"]]
    h.catalog.set_mapping(model_id, [*valid, {"provider": "hf-inference", "status": "live"}])
    report = h.refresh()
    assert report.status == "complete", report.incomplete
    assert set(_mappings(h, model_id)) == {e["provider"] for e in valid}
    reasons = h.sql("SELECT model_id, reason FROM rejects WHERE run_id = ?", report.run_id)
    assert reasons == [(model_id, "inferenceProviderMapping[hf-inference]: missing providerId, task")]
    served_by = json.loads(h.one("SELECT providers FROM catalog WHERE id = ?", model_id))
    assert "hf-inference" not in served_by
    # Reported on every run (one row per item per run), and nothing else changes.
    before = h.scd2_counts()
    again = h.refresh()
    assert h.sql("SELECT model_id FROM rejects WHERE run_id = ?", again.run_id) == [(model_id,)]
    assert h.scd2_counts() == before


def test_missing_status_reads_missing_status(harness):
    h = harness()
    model_id = _one_served(h)
    valid = [dict(e) for e in h.catalog.models[model_id]["inferenceProviderMapping"]]
    h.catalog.set_mapping(model_id, [*valid, {"provider": "hf-inference", "providerId": "x", "task": "fill-mask"}])
    report = h.refresh()
    assert h.one("SELECT reason FROM rejects WHERE run_id = ?", report.run_id) == (
        "inferenceProviderMapping[hf-inference]: missing status"
    )


def test_same_provider_twice_live_wins_and_the_duplicate_is_noted(harness):
    h = harness()
    model_id = _one_served(h)
    provider = h.catalog.models[model_id]["inferenceProviderMapping"][0]["provider"]
    h.catalog.set_mapping(
        model_id, [_entry(provider, "staging", providerId="stage-id"), _entry(provider, "live", providerId="live-id")]
    )
    report = h.refresh()
    assert _mappings(h, model_id) == {provider: ("live", "live-id")}
    (reason,) = h.sql("SELECT reason FROM rejects WHERE run_id = ? AND model_id = ?", report.run_id, model_id)[0]
    assert "duplicate entry (staging and live): kept the live one" in reason


# ---------------------------------------------------------------------------------------------- old shapes
def test_old_shape_items_take_model_id(harness):
    h = harness()
    h.app.faults.append(parse_fault("oldshape:count=2,times=0"))
    report = h.refresh()
    assert report.status == "complete", report.incomplete
    assert h.one("SELECT COUNT(*) FROM rejects") == 0
    listed = {r[0] for r in h.sql("SELECT model_id FROM models WHERE listed = 1")}
    assert listed == h.catalog.served_ids()


def test_an_item_without_any_id_is_one_reject_row_per_run(harness):
    h = harness()
    # The first item of every page loses its id; the newest served model heads the discovery listing and each of its
    # providers' listings (all sorted by createdAt), so several listings return that same broken item.
    h.app.faults.append(parse_fault("malformed:count=1,times=0"))
    newest = max(h.catalog.served_ids(), key=lambda m: (h.catalog.models[m]["createdAt"], h.catalog.models[m]["_id"]))
    assert len(h.catalog.models[newest]["inferenceProviderMapping"]) >= 1
    report = h.refresh()
    rows = h.sql("SELECT model_id, payload FROM rejects WHERE run_id = ?", report.run_id)
    payloads = [p for _, p in rows]
    assert len(payloads) == len(set(payloads))
    assert sum(json.loads(p)["_id"] == h.catalog.models[newest]["_id"] for p in payloads) == 1
    assert report.rejects == len(rows) and all(m is None for m, _ in rows)


# ---------------------------------------------------------------------------------------------- router offers
def test_offer_of_a_provider_the_hub_does_not_map_is_flagged_and_priced_nowhere(harness):
    h = harness()
    model_id = next(iter(sorted(h.catalog.router)))
    mapped = {e["provider"] for e in h.catalog.models[model_id]["inferenceProviderMapping"]}
    stranger = "nebius"
    assert stranger not in mapped
    cheap = {"provider": stranger, "status": "live", "context_length": 9_999_999, "pricing": {"input": 0, "output": 0}}
    h.catalog.set_router(model_id, [*h.catalog.router[model_id], cheap])
    h.refresh()
    flags = dict(
        h.sql("SELECT provider, unmapped FROM provider_offers WHERE model_id = ? AND valid_to IS NULL", model_id)
    )
    assert flags[stranger] == 1 and all(flags[p] == 0 for p in flags if p != stranger)
    assert h.one("SELECT context_length FROM catalog WHERE id = ?", model_id) != 9_999_999
    assert h.one("SELECT pricing_prompt FROM catalog WHERE id = ?", model_id) not in ("0",)
    # Once the Hub maps it live, the flag drops and its (free) offer is the cheapest.
    h.catalog.set_mapping(model_id, [*h.catalog.models[model_id]["inferenceProviderMapping"], _entry(stranger)])
    h.refresh()
    assert (
        h.one(
            "SELECT unmapped FROM provider_offers WHERE model_id = ? AND provider = ? AND valid_to IS NULL",
            model_id,
            stranger,
        )
        == 0
    )
    assert h.one("SELECT context_length FROM catalog WHERE id = ?", model_id) == 9_999_999


# ---------------------------------------------------------------------------------------------- providers that go
@pytest.mark.parametrize("answer", ["400 unknown provider", "200 empty"])
def test_removed_provider_stops_being_listed_after_the_misses(harness, answer):
    h = harness(models=600)
    served = sorted(
        m
        for m in h.catalog.served_ids()
        if GONE in {e["provider"] for e in h.catalog.models[m]["inferenceProviderMapping"]}
    )
    assert served, "the fake serves some models on the provider"
    first = h.refresh()
    assert first.status == "complete", first.incomplete
    assert h.one("SELECT retired_run FROM providers WHERE provider = ?", GONE) is None
    live = "SELECT COUNT(*) FROM provider_live_models WHERE provider = ?"
    assert h.one(live, GONE) == 1

    # The Hub drops the provider: gone from every mapping and from the router.
    for model_id in served:
        h.catalog.set_mapping(
            model_id, [e for e in h.catalog.models[model_id]["inferenceProviderMapping"] if e["provider"] != GONE]
        )
    for model_id, entries in list(h.catalog.router.items()):
        h.catalog.set_router(model_id, [e for e in entries if e["provider"] != GONE])
    if answer.startswith("400"):
        h.app.removed_providers.add(GONE)

    runs = [h.refresh() for _ in range(2)]
    assert [r.status for r in runs] == ["complete", "complete"], [r.incomplete for r in runs]
    assert h.one("SELECT retired_run FROM providers WHERE provider = ?", GONE) == runs[-1].run_id
    assert h.one(live, GONE) == 0  # retired: no longer a live provider (migration 0010); its row stays
    # Its mappings were retired by the usual rules (two proven misses), and so were models only it served.
    assert h.one("SELECT COUNT(*) FROM model_providers WHERE provider = ? AND valid_to IS NULL", GONE) == 0
    assert h.one("SELECT COUNT(*) FROM model_providers WHERE provider = ? AND run_to = ?", GONE, runs[-1].run_id) > 0
    h.app.stats.reset()
    later = h.refresh()
    assert later.status == "complete", later.incomplete
    asked = [dict(parse_qsl(urlsplit(q).query)).get("inference_provider") for q in h.app.stats.log]
    assert GONE not in asked
    # Models only it served leave the catalog too (a `top` source still seeing one keeps it until its mapping ended,
    # so that one takes a run more).
    only_there = [m for m in served if not h.catalog.models[m]["inferenceProviderMapping"]]
    assert only_there
    for model_id in only_there:
        assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 0
    assert (
        h.one('SELECT COUNT(*) FROM run_sources WHERE run_id = ? AND "partition" = ?', later.run_id, _partition(GONE))
        == 0
    )


def test_an_unknown_provider_answer_the_router_contradicts_retires_nothing(harness):
    """A 400 "unknown provider" for a provider the router still offers (its mappings are there too) is a refusal, not
    an empty partition: the models only it lists are not counted as missed."""
    h = harness(models=1000)
    h.config = dataclasses.replace(h.config, sources=(SourceConfig(name="providers", inference_provider="all"),))
    assert h.refresh().status == "complete"
    provider = "featherless-ai"
    only = [
        m
        for m in h.catalog.served_ids()
        if {e["provider"] for e in h.catalog.models[m]["inferenceProviderMapping"]} == {provider}
    ]
    assert only
    h.app.removed_providers.add(provider)  # the listing is refused; its mappings and the router are unchanged
    for _ in range(3):
        report = h.refresh()
        assert report.status == "partial" and any(provider in why for why in report.incomplete), report.incomplete
    assert h.one("SELECT COUNT(*) FROM catalog_changes WHERE change IN ('removed', 'provider_removed')") == 0
    assert all(h.one("SELECT listed FROM models WHERE model_id = ?", m) == 1 for m in only)
    error = h.one('SELECT error FROM run_sources WHERE run_id = 4 AND "partition" = ?', _partition(provider))
    assert "unknown" in error and "router offers it" in error


def test_an_unknown_provider_only_old_mappings_name_is_gone(harness):
    """The Hub drops a provider (400 "unknown provider"), the router no longer offers it, and one old item still names
    it (an `error` entry, as old data does): the answer is believed, and the models only it served leave."""
    h = harness(models=600)
    assert h.refresh().status == "complete"
    served = sorted(
        m
        for m in h.catalog.served_ids()
        if GONE in {e["provider"] for e in h.catalog.models[m]["inferenceProviderMapping"]}
    )
    stale = next(m for m in served if len(h.catalog.models[m]["inferenceProviderMapping"]) > 1)
    for model_id in served:
        entries = h.catalog.models[model_id]["inferenceProviderMapping"]
        if model_id == stale:
            h.catalog.set_mapping(model_id, [dict(e, status="error") if e["provider"] == GONE else e for e in entries])
        else:
            h.catalog.set_mapping(model_id, [e for e in entries if e["provider"] != GONE])
    for model_id, entries in list(h.catalog.router.items()):
        h.catalog.set_router(model_id, [e for e in entries if e["provider"] != GONE])
    h.app.removed_providers.add(GONE)
    runs = [h.refresh() for _ in range(2)]
    assert [r.status for r in runs] == ["complete", "complete"], [r.incomplete for r in runs]
    only_there = [m for m in served if not h.catalog.models[m]["inferenceProviderMapping"]]
    assert only_there
    assert all(h.one("SELECT listed FROM models WHERE model_id = ?", m) == 0 for m in only_there)
    assert h.one("SELECT listed FROM models WHERE model_id = ?", stale) == 1  # served by its other providers


def _current_offers(h, model_id: str) -> list[tuple]:
    return h.sql(
        "SELECT provider, price_input, price_output, context_length FROM provider_offers "
        "WHERE model_id = ? AND valid_to IS NULL ORDER BY provider",
        model_id,
    )


def test_a_rejected_router_entry_keeps_its_models_offers(harness):
    """A router entry rejected as malformed is bad input, not an absence: its model keeps its stored offers and its
    record, run after run (no price change, no new version, no retired offer)."""
    h = harness(models=300)
    h.refresh()
    model_id = sorted(h.catalog.router)[0]
    before = _current_offers(h, model_id)
    assert before
    bad = {"status": "live", "pricing": {"input": 1, "output": 2}}  # a provider entry without its provider id
    h.catalog.set_router(model_id, [*h.catalog.router[model_id], bad])
    for _ in range(3):
        report = h.refresh()
        assert report.status == "complete" and report.rejects == 1, report.incomplete
    assert _current_offers(h, model_id) == before
    assert h.one("SELECT COUNT(*) FROM catalog_changes WHERE model_id = ? AND run_id > 1", model_id) == 0
    assert h.one("SELECT COUNT(*) FROM model_versions WHERE model_id = ?", model_id) == 1


def test_a_router_entry_without_an_id_proves_no_offer_absent(harness):
    """An entry without a model id could be any model's: offers missing from that list are not counted as misses."""
    h = harness(models=300)
    h.refresh()
    model_id = sorted(h.catalog.router)[0]
    before = _current_offers(h, model_id)
    h.catalog.set_router(model_id, [])  # really gone from the router...
    h.catalog.set_router("", [{"provider": "together", "status": "live"}])  # ...beside an entry without an id
    for _ in range(3):
        report = h.refresh()
        assert report.status == "partial" and any("without a model id" in why for why in report.incomplete)
    assert _current_offers(h, model_id) == before
    h.catalog.set_router("", [])
    for _ in range(2):
        assert h.refresh().status == "complete"
    assert _current_offers(h, model_id) == []  # once the list is whole again its absence counts


@pytest.mark.parametrize("answer", ["400 unknown provider", "200 empty"])
def test_a_rejected_router_entry_does_not_keep_a_removed_provider_alive(harness, answer):
    """The Hub drops a provider everywhere while one model's router entry is malformed run after run: that model keeps
    its stored offers, but they do not count as the router offering the provider, which is retired as usual."""
    h = harness(models=600)
    assert h.refresh().status == "complete"
    model_id = next(m for m in sorted(h.catalog.router) if GONE in {e.get("provider") for e in h.catalog.router[m]})
    for m in h.catalog.served_ids():
        entries = h.catalog.models[m]["inferenceProviderMapping"]
        h.catalog.set_mapping(m, [e for e in entries if e["provider"] != GONE])
    for m, entries in list(h.catalog.router.items()):
        h.catalog.set_router(m, [e for e in entries if e["provider"] != GONE])
    bad = {"status": "live", "pricing": {"input": 1, "output": 2}}  # a provider entry without its provider id
    h.catalog.set_router(model_id, [*h.catalog.router.get(model_id, []), bad])
    if answer.startswith("400"):
        h.app.removed_providers.add(GONE)
    runs = [h.refresh() for _ in range(2)]
    assert [r.status for r in runs] == ["complete", "complete"], [r.incomplete for r in runs]
    assert all(r.rejects == 1 for r in runs)
    assert h.one("SELECT retired_run FROM providers WHERE provider = ?", GONE) == runs[-1].run_id


def test_client_only_provider_is_never_listed(harness):
    h = harness()
    h.refresh()
    asked = {dict(parse_qsl(urlsplit(q).query)).get("inference_provider") for q in h.app.stats.log}
    assert "openai" not in asked and "groq" in asked
    assert h.one('SELECT COUNT(*) FROM run_sources WHERE "partition" = ?', _partition("openai")) == 0


def test_a_known_provider_answering_empty_stays_unproven(harness):
    h = harness()
    h.refresh()
    h.app.faults.append(parse_fault("shrink:ratio=1.0,times=0,provider=groq"))
    report = h.refresh()
    assert report.status == "partial" and any("groq" in why for why in report.incomplete)
    assert h.one("SELECT misses FROM providers WHERE provider = 'groq'") == 0


# ---------------------------------------------------------------------------------------------- listing shapes
def test_size_ranges_are_sent_in_the_documented_suffix_form(harness):
    h = harness(models=5000, mode="capped")
    h.refresh()
    ranges = [v for q in h.app.stats.log for k, v in parse_qsl(urlsplit(q).query) if k == "num_parameters"]
    assert ranges
    bound = re.compile(r"(min|max):(\d+)([KMBT]?)")
    for value in ranges:
        for part in value.split(","):
            m = bound.fullmatch(part)
            assert m, value
            assert len(m.group(2).rstrip("0")) <= 2, value  # two significant digits at most
    listed = {r[0] for r in h.sql("SELECT model_id FROM models WHERE listed = 1")}
    assert listed == h.catalog.served_ids()  # overlapping bounds lose nothing


@pytest.mark.parametrize("pages", [1, 2])
def test_exact_multiple_of_the_page_size_is_confirmed_not_capped(harness, pages):
    h = harness()
    counts: dict[str, int] = {}
    for model_id in h.catalog.served_ids():
        for e in h.catalog.models[model_id]["inferenceProviderMapping"]:
            counts[e["provider"]] = counts.get(e["provider"], 0) + 1
    provider, n = max(((p, c) for p, c in counts.items() if c % pages == 0 and c >= 4), key=lambda pc: pc[1])
    config = dataclasses.replace(h.config, hub=dataclasses.replace(h.config.hub, page_size=n // pages))
    report = h.refresh(config)
    assert report.status == "complete", report.incomplete
    row = h.sql(
        "SELECT complete, capped, items, pages, requests FROM run_sources WHERE kind = 'catalog' AND \"partition\" = ?",
        _partition(provider),
    )
    assert row == [(1, 0, n, pages, pages + 1)]  # one probe confirmed the end
    assert h.one("SELECT COUNT(*) FROM run_sources WHERE capped = 1") == 0


def test_a_capped_listing_is_still_caught_by_the_probe(harness):
    h = harness(models=2500, mode="capped")
    h.refresh()
    row = h.sql(
        "SELECT complete, capped, requests FROM run_sources WHERE sort = 'createdAt' AND \"partition\" = ?",
        _partition("hf-inference"),
    )
    assert row == [(0, 1, 2)]


@pytest.mark.parametrize(
    "n, text",
    [
        (5_900_932_507, "5900M"),
        (7_000_000_000, "7B"),
        (128_400_000_000, "130B"),
        (123_456, "120K"),
        (42, "42"),
        (0, "0"),
    ],
)
def test_cut_points_are_rounded_to_the_suffix_form(n, text):
    assert format_count(round_count(n)) == text
