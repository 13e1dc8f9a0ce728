"""`hfsnap export --format openrouter`: every record valid for OpenRouter's official SDK, prices exact, as-of works.

Runs on SQLite and PostgreSQL (HFSNAP_TEST_PG_URL).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from openrouter import components

from etl.cli import main as cli_main
from etl.openrouter import CHAT_PARAMETERS, per_token

pytestmark = pytest.mark.both_backends


def _export(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> dict[str, dict]:
    assert cli_main(["export", "--db", url, "--format", "openrouter", *args]) == 0
    body = json.loads(capsys.readouterr().out)
    assert list(body) == ["data"]
    return {m["id"]: m for m in body["data"]}


def _cheapest_live(h, model_id: str, at: str | None = None) -> tuple[float, float] | None:
    """The cheapest live, priced, live-mapped offer, read straight from the tables."""
    when = "valid_to IS NULL" if at is None else "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"
    params = [] if at is None else [at, at]
    rows = h.sql(
        f"""SELECT o.price_input, o.price_output FROM provider_offers o JOIN model_providers p
            ON p.model_id = o.model_id AND p.provider = o.provider AND p.status = 'live' AND p.{when}
            WHERE o.model_id = ? AND o.{when} AND (o.status IS NULL OR o.status = 'live')
            AND o.price_input IS NOT NULL AND o.price_output IS NOT NULL""",
        *params,
        model_id,
        *params,
    )
    return min(rows, key=lambda r: r[0] + r[1]) if rows else None


@pytest.mark.parametrize(
    ("per_million", "per_token_text"),
    [(2.1, "0.0000021"), (0.07, "0.00000007"), (15.0, "0.000015"), (0.0, "0"), (1234.5678, "0.0012345678")],
)
def test_prices_convert_exactly_to_usd_per_token(per_million, per_token_text):
    assert per_token(per_million) == per_token_text
    assert Decimal(per_token(per_million)) * 1_000_000 == Decimal(repr(per_million))


@pytest.mark.parametrize("unknown", [None, -1.0])
def test_unknown_price_is_minus_one_never_zero(unknown):
    assert per_token(unknown) == "-1"


def test_every_record_validates_with_the_official_sdk(harness, capsys):
    h = harness()
    h.refresh()
    models = _export(capsys, h.url)
    assert set(models) == h.catalog.served_ids()
    for record in models.values():
        model = components.Model.model_validate(record)
        assert model.id == model.hugging_face_id == record["id"]
        assert model.links.details == f"/api/v1/models/{record['id']}/endpoints"
        assert set(model.architecture.input_modalities) <= {"text", "image", "file", "audio", "video"}


def test_pricing_and_context_come_from_the_cheapest_live_offer(harness, capsys):
    h = harness()
    h.refresh()
    models = _export(capsys, h.url)
    priced = 0
    for model_id, record in models.items():
        cheapest = _cheapest_live(h, model_id)
        if cheapest is None:
            assert record["pricing"] == {"prompt": "-1", "completion": "-1"}
            continue
        priced += 1
        assert Decimal(record["pricing"]["prompt"]) * 1_000_000 == Decimal(repr(cheapest[0]))
        assert Decimal(record["pricing"]["completion"]) * 1_000_000 == Decimal(repr(cheapest[1]))
        assert record["top_provider"]["context_length"] == record["context_length"]
    assert 0 < priced < len(models)  # both kinds are present in the fake catalog


def test_supported_parameters_follow_what_the_router_says(harness, capsys):
    h = harness()
    h.refresh()
    models = _export(capsys, h.url)
    tools = {
        m
        for (m,) in h.sql(
            "SELECT DISTINCT o.model_id FROM provider_offers o JOIN model_providers p ON p.model_id = o.model_id "
            "AND p.provider = o.provider AND p.status = 'live' AND p.valid_to IS NULL "
            "WHERE o.valid_to IS NULL AND o.supports_tools = 1 AND (o.status IS NULL OR o.status = 'live')"
        )
    }
    assert tools and tools < set(models)
    for model_id, record in models.items():
        params = set(record["supported_parameters"])
        assert ("tools" in params) == ("tool_choice" in params) == (model_id in tools)
        assert not params or set(CHAT_PARAMETERS) <= params


def test_as_of_gives_the_price_of_that_time(harness, capsys):
    h = harness()
    h.refresh()
    between = h.one("SELECT finished_at FROM runs WHERE run_id = 1")
    model_id = next(m for m in sorted(h.catalog.served_ids()) if _cheapest_live(h, m))
    old = _cheapest_live(h, model_id)
    entries = [dict(e) for e in h.catalog.router[model_id]]
    for entry in entries:
        if entry.get("pricing"):
            entry["pricing"] = {"input": 0.25, "output": 0.5}  # every priced offer, so this becomes the cheapest
    h.catalog.set_router(model_id, entries)
    h.refresh()
    now = _export(capsys, h.url)[model_id]["pricing"]
    past = _export(capsys, h.url, "--as-of", between)[model_id]["pricing"]
    assert now == {"prompt": "0.00000025", "completion": "0.0000005"}
    assert Decimal(past["prompt"]) * 1_000_000 == Decimal(repr(old[0]))


def test_export_openrouter_on_a_missing_database_is_exit_2(tmp_path, capsys):
    assert cli_main(["export", "--db", f"sqlite:///{tmp_path}/none.db", "--format", "openrouter"]) == 2
    assert not (tmp_path / "none.db").exists()


def test_a_bounded_record_cache_gives_the_same_list(harness):
    from etl.db import open_existing
    from etl.openrouter import RecordCache, iter_model_json
    from etl.queries import AsOf

    h = harness()
    h.refresh()
    engine = open_existing(h.url)
    try:
        small = RecordCache(max_entries=10)
        uncached = list(iter_model_json(engine, AsOf()))
        assert list(iter_model_json(engine, AsOf(), cache=small)) == uncached
        assert list(iter_model_json(engine, AsOf(), cache=small)) == uncached  # a second pass, partly cached
        assert len(small._entries) == 10 < len(uncached)
    finally:
        engine.dispose()
