"""Fault injection via the fake hub's switches: each fault ends as SPEC promises, retires nothing, keeps integrity."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from conftest import TOKEN

from etl.config import SourceConfig
from etl.fakehub import parse_fault, start_in_thread
from etl.hub import HubClient
from etl.pipeline import run_once

# fault spec -> (expected status, what else must hold). A `{p}` is the provider under attack.
RECOVERED = [
    "ratelimit:style=retry-after,reset=3,times=2",
    "ratelimit:style=ratelimit,reset=2,times=2",
    "status:code=503,times=3",
    "status:code=502,times=2,provider={p}",
    "truncate:times=2",
]
FAILING = [
    "status:code=500,times=0,provider={p}",
    "loop:times=0,provider={p}",
    "shrink:ratio=0.6,times=0,provider={p}",
    "truncate:times=0,provider={p}",
]


def _victim(h) -> tuple[str, str]:
    """The provider under attack (one with several pages at page_size 50) and one of its models."""
    counts: dict[str, list[str]] = {}
    for model_id in sorted(h.catalog.served_ids()):
        for m in h.catalog.models[model_id]["inferenceProviderMapping"]:
            counts.setdefault(m["provider"], []).append(model_id)
    provider = max(counts, key=lambda p: len(counts[p]))
    return provider, counts[provider][0]


@pytest.fixture
def paged(harness):
    """A harness whose listings span several pages (page_size 50), after one clean baseline run."""
    h = harness(models=400)
    h.config = dataclasses.replace(h.config, hub=dataclasses.replace(h.config.hub, page_size=50, max_retries=4))
    assert h.refresh().status == "complete"
    return h


@pytest.mark.parametrize("spec", RECOVERED)
def test_transient_faults_are_retried_to_a_complete_run(paged, spec):
    provider, _ = _victim(paged)
    paged.app.faults.append(parse_fault(spec.format(p=provider)))
    report = paged.refresh()
    assert report.status == "complete" and report.exit_code == 0, report.incomplete
    assert paged.sleeps, "the client should have backed off"
    if "reset=3" in spec:
        assert max(paged.sleeps) >= 3  # Retry-After honoured
    if "ratelimit,reset=2" in spec:
        assert max(paged.sleeps) >= 3  # RateLimit t=2 -> wait t+1
    assert {r[0] for r in paged.sql("SELECT model_id FROM models WHERE listed = 1")} == paged.catalog.served_ids()


@pytest.mark.parametrize("spec", FAILING)
def test_persistent_faults_end_partial_and_retire_nothing(paged, spec):
    provider, model_id = _victim(paged)
    paged.catalog.remove(model_id)  # gone from the Hub, but only the failing listing could prove it
    paged.app.faults.append(parse_fault(spec.format(p=provider)))
    for _ in range(3):
        report = paged.refresh()
        assert report.status == "partial" and report.exit_code == 3
        assert any(provider in why for why in report.incomplete), report.incomplete
    assert paged.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 1
    assert paged.one("SELECT COUNT(*) FROM runs WHERE status = 'partial'") == 3
    assert paged.one("SELECT COUNT(*) FROM catalog_changes WHERE change = 'removed'") == 0
    _integrity_ok(paged)


def test_malformed_items_are_rejected_with_reasons_and_the_run_goes_on(paged):
    # One provider's listing only: each model comes once, so no good copy from another listing can be taken first
    # (a broken later copy is read as Again, not rejected).
    only = SourceConfig(name="hfi", inference_provider="hf-inference")
    paged.config = dataclasses.replace(paged.config, sources=(only,))
    paged.app.faults.append(parse_fault("malformed:count=3,times=1,provider=hf-inference"))  # a page with 3+ items
    report = paged.refresh()
    reasons = sorted(r[0] for r in paged.sql("SELECT reason FROM rejects"))
    assert len(reasons) == 3 and any("without an id" in r for r in reasons)
    assert any("inferenceProviderMapping" in r for r in reasons) and any(
        "downloads" in r or "tags" in r for r in reasons
    )
    # An item without an id could be any model: absences are unprovable, so the run says partial and retires nothing.
    assert report.status == "partial" and report.counts.models_removed == 0
    assert all(payload for (payload,) in paged.sql("SELECT payload FROM rejects"))


def test_items_without_an_id_retire_no_mapping_either(harness):
    """An item without an id could be any model, with any mapping: no provider's partition proves a mapping absent.

    Only provider partitions list here, so the models whose items lost their id are seen by no other listing.
    """
    h = harness(models=400)
    hub = dataclasses.replace(h.config.hub, page_size=50)
    h.config = dataclasses.replace(
        h.config, hub=hub, sources=(SourceConfig(name="providers", inference_provider="all"),)
    )
    assert h.refresh().status == "complete"
    provider, _ = _victim(h)
    h.app.faults.append(parse_fault(f"malformed:count=1,times=0,provider={provider}"))  # each page's first item
    for _ in range(3):
        report = h.refresh()
        assert report.status == "partial" and any("without an id" in why for why in report.incomplete)
    assert h.one("SELECT COUNT(*) FROM rejects WHERE reason LIKE '%without an id%'") > 3
    assert h.one("SELECT COUNT(*) FROM catalog_changes WHERE change IN ('removed', 'provider_removed')") == 0
    _integrity_ok(h)


def test_latency_beyond_the_timeout_fails_that_listing_only(harness):
    h = harness(models=300)
    provider, _ = _victim(h)
    url, stop = start_in_thread(h.app)
    try:
        hub = dataclasses.replace(h.config.hub, endpoint=url, router=url, timeout_s=0.5, max_retries=1)
        config = dataclasses.replace(h.config, hub=hub)
        h.app.faults.append(parse_fault(f"slow:ms=3000,times=0,provider={provider}"))
        with HubClient(config.hub, token=TOKEN, sleep=h.sleeps.append) as client:
            report = run_once(config, client, clock=h.clock)
    finally:
        stop()
    assert report.status == "partial" and report.exit_code == 3
    errors = [lst.error for lst in report.listings if lst.error]
    assert errors and all("timeout" in e for e in errors)
    assert report.counts.models_seen > 0.5 * len(h.catalog.served_ids())


def _integrity_ok(h) -> None:
    if h.db is not None:
        with sqlite3.connect(h.db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for table, key in (("model_versions", "model_id"), ("model_providers", "model_id, provider")):
        assert h.sql(f"SELECT {key} FROM {table} WHERE valid_to IS NULL GROUP BY {key} HAVING COUNT(*) > 1") == []


def test_pages_that_bring_nothing_new_cut_the_listing_like_a_cap_and_the_split_covers_it(paged):
    provider, _ = _victim(paged)
    # Pages 2-4 of the provider's partition repeat page 1 under new cursors: the third such page raises NoProgress.
    paged.app.faults.append(parse_fault(f"stale:after=1,times=3,provider={provider}"))
    report = paged.refresh()
    cut = [lst for lst in report.listings if lst.error and "no progress" in lst.error]
    assert len(cut) == 1 and cut[0].capped and provider in cut[0].partition, [lst.error for lst in report.listings]
    assert cut[0].error == "no progress: 3 pages in a row brought no new model"
    # Capped, not failed: the partition's other sort orders run to their end, so the run proves the whole catalog
    # (and no narrower partition is needed).
    assert report.status == "complete", report.incomplete
    assert not [lst for lst in report.listings if lst.parent and provider in lst.parent]
    assert {r[0] for r in paged.sql("SELECT model_id FROM models WHERE listed = 1")} == paged.catalog.served_ids()
    assert paged.one("SELECT COUNT(*) FROM catalog_changes WHERE change = 'removed'") == 0
    _integrity_ok(paged)
