"""Reads "as of" a time (`queries.AsOf`) against a slow, obviously-correct reading of the whole history in Python.

A multi-run story on the fake hub: versions change, counters move, a model misses runs (its membership stays open
while its counters have a gap) and comes back, another is proven gone and then restored, prices and mappings
change. At every stored moment, a microsecond before each, before the first run and after the last, `hfsnap export
--as-of` (the `catalog_sql` formulation the history bench times) and the OpenRouter list behind `serve ?as_of=`
must give exactly what filtering every row by its validity range in Python gives; the bench's statement equals the
plain join of membership and versions it replaced; catalog_spans holds exactly the overlaps of those two tables.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from conftest import Harness
from sqlalchemy import text

from bench.history import AS_OF_COLUMNS
from etl.db import open_existing
from etl.openrouter import iter_models, to_model
from etl.queries import AsOf, OfferRow, export_records
from etl.transform import with_metrics

pytestmark = pytest.mark.both_backends


@pytest.fixture
def story(harness: Any) -> Harness:
    h = harness(models=160)
    h.refresh()  # run 1
    ids = sorted(h.catalog.served_ids())
    changed, away, gone = ids[3], ids[5], ids[7]
    priced = next(m for m in ids if any(e.get("pricing") for e in h.catalog.router.get(m, ())))
    h.catalog.update(changed, lastModified="2026-02-02T00:00:00.000Z", downloads=4242, likes=7)
    item, router = h.catalog.models[away], h.catalog.router.get(away)
    gone_item, gone_router = h.catalog.models[gone], h.catalog.router.get(gone)
    h.catalog.remove(away)
    h.catalog.remove(gone)
    h.refresh()  # run 2: `away` and `gone` missed once, still members; their counters stop
    h.catalog.put(item)
    if router:
        h.catalog.set_router(away, router)
    entries = [dict(e) for e in h.catalog.router[priced]]
    for entry in entries:
        if entry.get("pricing"):
            entry["pricing"] = {"input": 0.25, "output": 0.5}
    h.catalog.set_router(priced, entries)
    h.refresh()  # run 3: `away` is back (a new counters span after the gap), a price changed
    mapped = next(m for m in ids if h.catalog.models[m].get("inferenceProviderMapping") and m not in (away, gone))
    mapping = [dict(e) for e in h.catalog.models[mapped]["inferenceProviderMapping"]]
    mapping[0]["status"] = "staging" if mapping[0].get("status") == "live" else "live"
    h.catalog.set_mapping(mapped, mapping)
    h.refresh()  # run 4: `gone` proven absent (retire_after_misses = 2), a mapping's status flipped
    assert h.one("SELECT COUNT(*) FROM catalog_membership WHERE model_id = ? AND valid_to IS NOT NULL", gone) == 1
    h.catalog.put(gone_item)
    if gone_router:
        h.catalog.set_router(gone, gone_router)
    h.catalog.update(changed, lastModified="2026-03-03T00:00:00.000Z")
    h.refresh()  # run 5: `gone` restored (a new membership and version), `changed` has a third version
    assert h.one("SELECT COUNT(*) FROM catalog_membership WHERE model_id = ?", gone) == 2
    assert h.one("SELECT COUNT(*) FROM model_versions WHERE model_id = ?", changed) == 3
    h.refresh()  # run 6: nothing changes
    h.away = away  # type: ignore[attr-defined]  # the story's facts, for the tests below
    return h


def _moments(h: Harness) -> list[str]:
    """Every stored validity bound, a microsecond before each, and times before and after the whole history."""
    stamps: set[str] = set()
    for table in ("catalog_membership", "model_versions", "model_providers", "provider_offers"):
        stamps |= {s for row in h.sql(f"SELECT DISTINCT valid_from, valid_to FROM {table}") for s in row if s}
    moments = {"2000-01-01", datetime.now(UTC).isoformat()}
    for stamp in stamps:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        moments |= {at.isoformat(), (at - timedelta(microseconds=1)).isoformat()}
    return sorted(moments)


def _valid(row_from: str, row_to: str | None, stamp: str) -> bool:
    return row_from <= stamp and (row_to is None or row_to > stamp)


def _versions(h: Harness, stamp: str) -> dict[str, str]:
    rows = h.sql("SELECT model_id, valid_from, valid_to, record FROM model_versions")
    return {m: record for m, f, t, record in rows if _valid(f, t, stamp)}


def _slow_catalog(h: Harness, moment: str) -> list[dict[str, Any]]:
    """Export records at `moment` from every row, read in Python: members, their version, their counters at the
    last loaded run then (the latest span starting at or before it)."""
    stamp = AsOf.parse(moment).stamp
    assert stamp is not None
    runs = h.sql("SELECT run_id, started_at, status FROM runs")
    run = max((r for r, started, status in runs if status in ("complete", "partial") and started <= stamp), default=0)
    members = {
        m for m, f, t in h.sql("SELECT model_id, valid_from, valid_to FROM catalog_membership") if _valid(f, t, stamp)
    }
    versions = _versions(h, stamp)
    keys = dict(h.sql("SELECT model_id, model_key FROM models"))
    latest: dict[int, tuple[Any, Any]] = {}
    for key, run_from, downloads, likes in sorted(
        h.sql("SELECT model_key, run_from, downloads, likes FROM metric_spans")
    ):
        if run_from <= run:
            latest[key] = (downloads, likes)
    return [
        with_metrics(orjson.loads(versions[m]), *latest.get(keys[m], (None, None)))
        for m in sorted(members)
        if m in versions
    ]


def _slow_models(h: Harness, moment: str) -> list[dict[str, Any]]:
    """OpenRouter models at `moment`: each member's version and its live mappings with their offers, then."""
    stamp = AsOf.parse(moment).stamp
    assert stamp is not None
    records = _versions(h, stamp)
    members = {
        m for m, f, t in h.sql("SELECT model_id, valid_from, valid_to FROM catalog_membership") if _valid(f, t, stamp)
    }
    offers = {
        (m, p): r[:6]
        for m, p, f, t, *r in h.sql(
            "SELECT model_id, provider, valid_from, valid_to, status, context_length, price_input, price_output, "
            "supports_tools, supports_structured_output FROM provider_offers"
        )
        if _valid(f, t, stamp)
    }
    live: dict[str, list[OfferRow]] = {}
    for m, p, status, f, t in h.sql("SELECT model_id, provider, status, valid_from, valid_to FROM model_providers"):
        if status == "live" and _valid(f, t, stamp):
            o = offers.get((m, p))
            live.setdefault(m, []).append(OfferRow(p, *(o or (None,) * 6), has_offer=o is not None))
    models = [to_model(orjson.loads(records[m]), live.get(m, [])) for m in sorted(members) if m in records]
    return [orjson.loads(orjson.dumps(m)) for m in models]


def test_export_as_of_equals_reading_every_row(story):
    engine = open_existing(story.url)
    try:
        moments = _moments(story)
        assert len(moments) > 8
        sizes = set()
        for moment in moments:
            expected = _slow_catalog(story, moment)
            assert list(export_records(engine, moment)) == expected, moment
            sizes.add(len(expected))
        assert 0 in sizes and len(sizes) > 2  # before the first run, and the catalog did change size
    finally:
        engine.dispose()


def test_a_counter_gap_gives_the_last_counters_before_it(story):
    """`away` missed run 2 (a member still, its counters span closed): as of run 2 it has its run-1 counters."""
    away = story.away
    spans = story.sql(
        "SELECT s.run_from, s.run_to, s.downloads FROM metric_spans s JOIN models k ON k.model_key = s.model_key "
        "WHERE k.model_id = ? ORDER BY s.run_from",
        away,
    )
    assert [(f, t) for f, t, _ in spans] == [(1, 2), (3, None)]  # a gap at run 2
    run2 = story.one("SELECT started_at FROM runs WHERE run_id = 2")
    engine = open_existing(story.url)
    try:
        row = next(r for r in export_records(engine, run2) if r["id"] == away)
    finally:
        engine.dispose()
    assert (
        story.one("SELECT valid_to FROM catalog_membership WHERE model_id = ? AND valid_from <= ?", away, run2) is None
    )
    assert row["huggingface_metrics"]["downloads"] == spans[0][2] is not None


def test_openrouter_list_as_of_equals_reading_every_row(story):
    engine = open_existing(story.url)
    try:
        for moment in _moments(story):
            assert list(iter_models(engine, AsOf.parse(moment))) == _slow_models(story, moment), moment
        assert list(iter_models(engine, AsOf())) == _slow_models(story, datetime.now(UTC).isoformat())
    finally:
        engine.dispose()


# The formulation before catalog_spans (migration 0013), in plain SQL over the SCD2 tables: each member's version,
# its counters at the run (the latest span starting at or before it).
PLAIN = """SELECT v.model_id, v.version_id,
  (SELECT x.downloads FROM metric_spans x WHERE x.model_key = c.model_key AND x.run_from <= :run
   ORDER BY x.run_from DESC LIMIT 1),
  (SELECT x.likes FROM metric_spans x WHERE x.model_key = c.model_key AND x.run_from <= :run
   ORDER BY x.run_from DESC LIMIT 1)
FROM catalog_membership c JOIN model_versions v ON v.model_id = c.model_id
WHERE c.valid_from <= :t AND (c.valid_to IS NULL OR c.valid_to > :t)
  AND v.valid_from <= :t AND (v.valid_to IS NULL OR v.valid_to > :t)
ORDER BY v.model_id"""


def test_catalog_sql_equals_the_plain_join_of_membership_and_versions(story):
    """The statement the history bench times, at every moment, against the join it replaced."""
    engine = open_existing(story.url)
    try:
        with engine.connect() as conn:
            for moment in _moments(story):
                at = AsOf.parse(moment)
                run = conn.execute(text(at.last_run_sql()), {"t": at.stamp}).scalar() or 0
                want = [tuple(r) for r in conn.execute(text(PLAIN), {"t": at.stamp, "run": run})]
                assert list(at.catalog_rows(conn, AS_OF_COLUMNS)) == want, moment
    finally:
        engine.dispose()


def test_catalog_spans_are_the_overlaps_of_membership_and_versions(story):
    """What the loader kept run by run is every overlap of a membership row and a version row of one model."""
    members = story.sql("SELECT model_id, run_from, run_to, valid_from, valid_to, model_key FROM catalog_membership")
    versions = story.sql("SELECT model_id, run_from, run_to, valid_from, valid_to, version_id FROM model_versions")
    end = 1 << 30
    want = set()
    for m, c_from, c_to, c_valid_from, c_valid_to, key in members:
        for model, v_from, v_to, v_valid_from, v_valid_to, version in versions:
            if model != m or max(c_from, v_from) >= min(c_to or end, v_to or end):
                continue
            start = (v_from, v_valid_from) if v_from >= c_from else (c_from, c_valid_from)
            stop = min((c_to or end, c_valid_to), (v_to or end, v_valid_to))
            want.add((m, *start, None if stop[0] == end else stop[0], stop[1], version, key))
    got = story.sql("SELECT model_id, run_from, valid_from, run_to, valid_to, version_id, model_key FROM catalog_spans")
    assert len(got) == len(want) > len(members)
    assert set(got) == want
