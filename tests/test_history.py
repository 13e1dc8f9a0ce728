"""The history semantics of SPEC section 5, one rule per test, over the fake hub and a real SQLite/PostgreSQL DB."""

from __future__ import annotations

import dataclasses
import json

import pytest

from etl.cli import main as cli_main
from etl.config import HistoryConfig, SourceConfig
from etl.fakehub import parse_fault
from etl.scd2 import HISTORY

pytestmark = pytest.mark.both_backends


def _served(h, n: int = 1, where=lambda item: True) -> list[str]:
    ids = sorted(m for m in h.catalog.served_ids() if where(h.catalog.models[m]))
    assert len(ids) >= n
    return ids[:n]


def _providers_of(h, model_id: str) -> list[str]:
    return [m["provider"] for m in h.catalog.models[model_id]["inferenceProviderMapping"]]


def test_first_run_lists_every_served_model(harness):
    h = harness()
    report = h.refresh()
    assert report.status == "complete", report.incomplete
    listed = {r[0] for r in h.sql("SELECT model_id FROM models WHERE listed = 1")}
    assert listed == h.catalog.served_ids()
    assert h.one("SELECT COUNT(*) FROM catalog") == len(listed)
    assert h.one("SELECT COUNT(*) FROM model_versions WHERE valid_to IS NULL") >= len(listed)


def test_unchanged_rerun_adds_no_scd2_row(harness):
    h = harness()
    h.refresh()
    before = h.scd2_counts()
    report = h.refresh()
    assert report.status == "complete"
    assert h.scd2_counts() == before
    assert report.counts.models_added == report.counts.models_changed == report.counts.models_removed == 0
    assert h.one("SELECT COUNT(DISTINCT run_id) FROM model_metrics") == 2


def test_reordered_tags_and_mappings_are_not_a_change(harness):
    h = harness()
    h.refresh()
    before = h.scd2_counts()
    for model_id in _served(h, 20):
        item = h.catalog.models[model_id]
        h.catalog.update(
            model_id,
            tags=list(reversed(item["tags"])),
            inferenceProviderMapping=list(reversed(item["inferenceProviderMapping"])),
        )
    h.refresh()
    assert h.scd2_counts() == before


def test_drifting_counters_make_metrics_not_versions(harness):
    h = harness()
    h.refresh()
    before = h.scd2_counts()
    model_id = _served(h)[0]
    h.catalog.update(model_id, downloads=h.catalog.models[model_id]["downloads"] + 12345, likes=999_999)
    run = h.refresh().run_id
    assert h.scd2_counts() == before
    assert h.one("SELECT likes FROM model_metrics WHERE run_id = ? AND model_id = ?", run, model_id) == 999_999


def test_gating_flip_is_versioned_and_in_the_diff(harness, capsys):
    h = harness()
    h.refresh()
    model_id = _served(h, where=lambda m: m.get("gated") is False)[0]
    h.catalog.update(model_id, gated="manual")
    run = h.refresh().run_id
    rows = h.sql("SELECT gated, valid_to IS NULL FROM gating_history WHERE model_id = ? ORDER BY gating_id", model_id)
    assert rows == [("false", 0), ("manual", 1)]
    assert h.sql("SELECT before, after FROM catalog_changes WHERE change = 'gating' AND model_id = ?", model_id) == [
        ("false", "manual")
    ]
    assert cli_main(["diff", "--db", h.url, "--since", str(run), "--json"]) == 0
    changes = json.loads(capsys.readouterr().out)
    assert {"gating", "changed"} <= {c["change"] for c in changes if c["model_id"] == model_id}


def test_mapping_added_removed_and_status_change(harness):
    h = harness(models=300)
    h.refresh()
    model_id = _served(h, where=lambda m: len(m["inferenceProviderMapping"]) >= 2)[0]
    mapping = [dict(e) for e in h.catalog.models[model_id]["inferenceProviderMapping"]]
    dropped = mapping.pop()
    mapping[0]["status"] = "error" if mapping[0]["status"] != "error" else "live"
    mapping.append(
        {
            "provider": "groq" if dropped["provider"] != "groq" else "cerebras",
            "providerId": "x/y",
            "status": "live",
            "task": "conversational",
        }
    )
    h.catalog.set_mapping(model_id, mapping)
    h.refresh()
    h.refresh()  # the dropped mapping is retired after retire_after_misses = 2 runs without it
    changes = {
        (r[0], r[1])
        for r in h.sql("SELECT change, provider FROM catalog_changes WHERE model_id = ? AND run_id > 1", model_id)
    }
    assert ("provider_status", mapping[0]["provider"]) in changes
    assert ("provider_added", mapping[-1]["provider"]) in changes
    assert ("provider_removed", dropped["provider"]) in changes


def test_price_change_versions_the_offer(harness):
    h = harness()
    h.refresh()
    model_id = next(
        m
        for m, entries in sorted(h.catalog.router.items())
        if any(e.get("pricing") for e in entries) and m in h.catalog.served_ids()
    )
    entries = [dict(e) for e in h.catalog.router[model_id]]
    priced = next(e for e in entries if e.get("pricing"))
    priced["pricing"] = {"input": 123.0, "output": 456.0}
    h.catalog.set_router(model_id, entries)
    h.refresh()
    rows = h.sql(
        "SELECT price_input, price_output FROM provider_offers "
        "WHERE model_id = ? AND provider = ? AND valid_to IS NULL",
        model_id,
        priced["provider"],
    )
    assert rows == [(123.0, 456.0)]
    assert (
        h.sql("SELECT COUNT(*) FROM catalog_changes WHERE change = 'price' AND model_id = ? AND run_id = 2", model_id)[
            0
        ][0]
        == 1
    )


def test_deleted_model_is_retired_only_after_the_configured_misses(harness):
    h = harness()
    h.refresh()
    model_id = _served(h)[0]
    h.catalog.remove(model_id)
    h.refresh()
    assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 1  # one miss: not yet
    report = h.refresh()
    assert report.counts.models_removed == 1
    assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 0
    assert h.one("SELECT COUNT(*) FROM model_versions WHERE model_id = ? AND valid_to IS NULL", model_id) == 0
    assert h.sql("SELECT change FROM catalog_changes WHERE model_id = ? AND change = 'removed'", model_id) == [
        ("removed",)
    ]


def test_a_model_that_loses_its_last_provider_is_retired_after_the_misses_not_later(harness):
    """Still on the Hub (a top source sees it) but served by nobody: removed after retire_after_misses runs."""
    h = harness(models=300)
    h.refresh()
    model_id = _served(h)[0]
    h.catalog.set_mapping(model_id, [])
    h.refresh()
    assert h.one("SELECT last_seen_run FROM models WHERE model_id = ?", model_id) == 2  # a top source still sees it
    assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 1  # one miss: not yet
    h.refresh()
    assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 0
    assert h.one("SELECT last_seen_run FROM models WHERE model_id = ?", model_id) == 3  # seen, yet not served
    assert h.sql("SELECT change, run_id FROM catalog_changes WHERE model_id = ? AND change = 'removed'", model_id) == [
        ("removed", 3)
    ]


def test_retire_after_misses_is_configurable(harness):
    h = harness()
    h.config = dataclasses.replace(h.config, history=HistoryConfig(retire_after_misses=3))
    h.refresh()
    model_id = _served(h)[0]
    h.catalog.remove(model_id)
    h.refresh()
    h.refresh()
    assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 1
    h.refresh()
    assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 0


def test_restored_model_opens_a_new_version(harness):
    h = harness()
    h.refresh()
    model_id = _served(h)[0]
    item = h.catalog.models[model_id]
    h.catalog.remove(model_id)
    h.refresh()
    h.refresh()
    h.catalog.put(item)
    report = h.refresh()
    assert report.counts.models_restored == 1
    assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 1
    assert h.one("SELECT COUNT(*) FROM model_versions WHERE model_id = ?", model_id) == 2
    membership = (
        "SELECT change FROM catalog_changes "
        "WHERE model_id = ? AND change IN ('added', 'removed', 'restored') ORDER BY run_id"
    )
    assert h.sql(membership, model_id) == [("added",), ("removed",), ("restored",)]


def test_a_failed_provider_listing_retires_nothing(harness):
    h = harness()
    h.refresh()
    model_id = _served(h)[0]
    provider = _providers_of(h, model_id)[0]
    h.catalog.remove(model_id)
    h.app.faults.append(parse_fault(f"status:code=503,times=0,provider={provider}"))
    for _ in range(3):
        report = h.refresh()
        assert report.status == "partial" and report.exit_code == 3
    assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 1
    assert h.one('SELECT error FROM run_sources WHERE run_id = 4 AND "partition" LIKE ?', f'%"{provider}"%') is not None


def test_a_shrunken_listing_retires_nothing(harness):
    h = harness(models=600)
    h.refresh()
    provider = max(
        ("hf-inference", "featherless-ai"), key=lambda p: sum(p in _providers_of(h, m) for m in h.catalog.served_ids())
    )
    h.app.faults.append(parse_fault(f"shrink:ratio=0.6,times=0,provider={provider}"))
    before = h.one("SELECT COUNT(*) FROM models WHERE listed = 1")
    for _ in range(3):
        report = h.refresh()
        assert report.status == "partial"
    assert h.one("SELECT COUNT(*) FROM models WHERE listed = 1") == before
    assert h.one("SELECT COUNT(*) FROM run_sources WHERE shrunk = 1") == 3


def test_a_capped_listing_retires_nothing(harness):
    h = harness(models=5000, mode="capped")
    first = h.refresh()
    model_id = next(m for m in sorted(h.catalog.served_ids()) if "hf-inference" in _providers_of(h, m))
    h.catalog.remove(model_id)
    for _ in range(3):
        h.refresh()
    assert first.status == "partial"  # a capped partition cannot be proven complete
    assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 1


def test_a_short_order_of_a_capped_partition_proves_nothing(harness):
    """A capped partition's other sort order that ends early (one page cut short, no next link) does not prove the
    partition complete: the models only the cap hid would count as missed and be retired while the Hub serves them."""
    h = harness(models=5000, mode="capped")
    h.refresh()
    for _ in range(3):
        for provider in ("hf-inference", "featherless-ai"):  # the partitions over the cap
            h.app.faults.append(parse_fault(f"shrink:ratio=0.5,times=1,after=2,provider={provider}"))
        assert h.refresh().status == "partial"
    assert h.one("SELECT COUNT(*) FROM catalog_changes WHERE change IN ('removed', 'provider_removed')") == 0
    assert h.one("SELECT COUNT(*) FROM models WHERE listed = 1") == len(h.catalog.served_ids())
    short = h.sql(
        "SELECT complete, shrunk, error FROM run_sources WHERE run_id = 2 AND sort != 'createdAt' AND error IS NOT NULL"
    )
    assert len(short) == 2 and all(c == 0 and s == 1 and e.startswith("ended after") for c, s, e in short), short


def test_export_as_of_a_date_shows_the_past(harness, capsys):
    h = harness()
    h.refresh()
    model_id = _served(h, where=lambda m: m.get("gated") is False)[0]
    between = h.one("SELECT finished_at FROM runs WHERE run_id = 1")
    h.catalog.update(model_id, gated="auto")
    h.refresh()
    assert cli_main(["export", "--db", h.url, "--as-of", between]) == 0
    past = {r["id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert past[model_id]["huggingface_metrics"]["gated"] == "false"
    assert cli_main(["export", "--db", h.url, "--format", "json"]) == 0
    now = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert now[model_id]["huggingface_metrics"]["gated"] == "auto"
    assert set(now) == h.catalog.served_ids()


def test_malformed_items_go_to_rejects_and_the_run_goes_on(harness):
    """Three broken items on a page (no id; wrong-typed counters and tags; a string mapping): three rejects.

    One source listing one provider, so each model comes once: with the default sources a broken copy that another
    listing's good copy of the same model beats to the pipeline is read as a later copy (Again), not rejected.
    """
    h = harness()
    h.config = dataclasses.replace(h.config, sources=(SourceConfig(name="hfi", inference_provider="hf-inference"),))
    h.app.faults.append(parse_fault("malformed:count=3,times=1,provider=hf-inference"))  # a page with 3+ items
    report = h.refresh()
    reasons = [r[0] for r in h.sql("SELECT reason FROM rejects")]
    assert len(reasons) == 3, reasons
    assert report.counts.models_seen > 0
    assert report.exit_code in (0, 3)


def test_only_one_current_row_per_key(harness):
    h = harness()
    for _ in range(3):
        for model_id in _served(h, 5):
            h.catalog.update(model_id, gated="auto" if h.catalog.models[model_id].get("gated") != "auto" else False)
        h.refresh()
    for table, key in ((spec.name, ", ".join(spec.key)) for spec in HISTORY):
        assert (
            h.sql(f"SELECT {key}, COUNT(*) FROM {table} WHERE valid_to IS NULL GROUP BY {key} HAVING COUNT(*) > 1")
            == []
        )
