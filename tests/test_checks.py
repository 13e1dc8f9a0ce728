"""Values a backend cannot store are rejects, the same on SQLite and PostgreSQL; the run goes on and loses nothing."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from etl.checks import check_item, check_offers
from etl.errors import RejectItem
from etl.records import Offer

pytestmark = pytest.mark.both_backends


def _template(h: Any) -> tuple[str, dict[str, Any]]:
    model_id = sorted(h.catalog.served_ids())[0]
    return model_id, copy.deepcopy(h.catalog.models[model_id])


def _reasons(h: Any) -> list[tuple[str | None, str]]:
    return sorted(((m, r) for m, r in h.sql("SELECT model_id, reason FROM rejects")), key=lambda x: (x[0] or "", x[1]))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"downloads": 1e30}, "downloads: 1e+30 is out of range (64-bit integer)"),
        ({"downloadsAllTime": -1e20}, "downloadsAllTime: -1e+20 is out of range (64-bit integer)"),
        ({"safetensors": {"total": 1e30}}, "safetensors.total: 1e+30 is out of range (64-bit integer)"),
    ],
)
def test_out_of_range_numbers_are_rejects_and_the_model_keeps_its_history(harness, fields, reason):
    h = harness()
    assert h.refresh().status == "complete"
    model_id, _ = _template(h)
    versions = h.one("SELECT COUNT(*) FROM model_versions WHERE model_id = ?", model_id)
    h.catalog.update(model_id, **fields)
    report = h.refresh()
    assert report.exit_code == 0 and report.rejects == 1
    assert _reasons(h) == [(model_id, reason)]
    assert h.one("SELECT listed FROM models WHERE model_id = ?", model_id) == 1
    assert h.one("SELECT COUNT(*) FROM model_versions WHERE model_id = ?", model_id) == versions


def test_ids_no_backend_can_store_are_rejects(harness):
    h = harness()
    _, item = _template(h)
    long_id, nul_id = "org/" + "x" * 300, "org/nul\x00id"
    for new_id in (long_id, nul_id):
        h.catalog.put({**copy.deepcopy(item), "id": new_id, "modelId": new_id, "_id": None})
    odd = {**copy.deepcopy(item), "id": "org/odd-provider", "modelId": "org/odd-provider", "_id": None}
    odd["inferenceProviderMapping"] = [{"provider": "p" * 70, "status": "live", "task": "conversational"}]
    h.catalog.put(odd)
    h.catalog.set_router("org/" + "y" * 300, [{"provider": "groq", "status": "live"}])
    report = h.refresh()
    assert report.status != "failed" and report.counts.models_seen >= len(h.catalog.served_ids()) - 3
    reasons = _reasons(h)
    assert (None, "id: 304 characters (at most 255 are stored)") in reasons
    assert (None, "id: contains a NUL byte") in reasons
    assert ("org/odd-provider", "inferenceProviderMapping provider: 70 characters (at most 64 are stored)") in reasons
    assert (None, "router entry id: 304 characters (at most 255 are stored)") in reasons
    payloads = [orjson.loads(p) for (p,) in h.sql("SELECT payload FROM rejects")]
    assert {long_id, nul_id} <= {p.get("id") for p in payloads}  # the whole item is kept, as data
    assert h.one("SELECT COUNT(*) FROM models WHERE model_id IN (?, ?)", long_id, "org/odd-provider") == 0


class DuplicateRouterEntry:
    """WSGI middleware: the router lists a model with several providers twice (the second entry has one)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.twin_id: str | None = None
        self.providers: set[str] = set()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != "/v1/models":
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            captured.update(status=status, headers=headers)

        body = orjson.loads(b"".join(self.app(environ, keep)))
        twin = copy.deepcopy(next(e for e in body["data"] if len(e["providers"]) > 1))
        self.twin_id, self.providers = twin["id"], {p["provider"] for p in twin["providers"]}
        twin["providers"] = twin["providers"][:1]
        body["data"].append(twin)
        raw = orjson.dumps(body)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(raw)))])
        return [raw]

    def close(self) -> None:
        self.app.close()


def test_duplicated_router_entry_is_a_reject_and_the_first_is_kept(harness):
    h = harness()
    h.app = app = DuplicateRouterEntry(h.app)
    report = h.refresh()
    assert report.exit_code == 0
    first_id = app.twin_id
    assert _reasons(h) == [(first_id, f"router entry {first_id}: listed again (the first entry is kept)")]
    providers = {p for (p,) in h.sql("SELECT provider FROM provider_offers WHERE model_id = ?", first_id)}
    assert len(app.providers) > 1 and providers == app.providers


def test_checks_are_pure_and_name_the_field():
    with pytest.raises(RejectItem, match=r"^trendingScore: inf is not a finite number$"):
        check_item({"id": "a/b", "trendingScore": float("inf")})
    with pytest.raises(RejectItem, match=r"^createdAt: 40 characters \(at most 32 are stored\)$"):
        check_item({"id": "a/b", "createdAt": "2" * 40})
    with pytest.raises(RejectItem, match=r"^context_length of groq: 4294967296 is out of range \(32-bit integer\)$"):
        check_offers("a/b", [Offer("groq", "live", 2**32, None, None, None, None, None)])
    check_item({"id": "a/b", "downloads": 2**63 - 1, "tags": ["license:mit"], "trendingScore": 1e30})
