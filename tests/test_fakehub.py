"""Tests for etl.fakehub: the offline Hub + router emulator (contract: docs/fakehub-interface.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import orjson
import pytest

from etl.fakehub import Catalog, FakeHubApp, Fault, generate_catalog, make_app, parse_fault, start_in_thread
from etl.fakehub.shapes import DEFAULT_KEYS
from etl.fakehub.vocab import KNOWN_PROVIDERS, UNKNOWN_PROVIDERS

BASE = "http://hub.test"
TOKEN = {"Authorization": "Bearer hf_test_token"}


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """Shared read-only catalog (tests that mutate build their own)."""
    return generate_catalog(1500, seed=3)


def client_for(app: FakeHubApp) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE)


@pytest.fixture()
def app(catalog: Catalog) -> Iterator[FakeHubApp]:
    application = make_app(catalog, page_max=100)
    yield application
    application.close()


@pytest.fixture()
def client(app: FakeHubApp) -> Iterator[httpx.Client]:
    with client_for(app) as c:
        yield c


def page_all(client: httpx.Client, url: str, max_pages: int = 10_000) -> tuple[list[dict], int]:
    """Follow rel=next links; returns (items, pages)."""
    items: list[dict] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        r = client.get(next_url)
        assert r.status_code == 200, r.text
        items.extend(r.json())
        pages += 1
        assert pages <= max_pages, "paging does not terminate"
        next_url = r.links.get("next", {}).get("url")
    return items, pages


def mutable_catalog(n: int = 300, seed: int = 1) -> Catalog:
    return generate_catalog(n, seed)


# ---------------------------------------------------------------------------------------------- paging
def test_cursor_paging_reaches_every_served_model_once(client: httpx.Client, catalog: Catalog) -> None:
    items, pages = page_all(client, "/api/models?inference_provider=all&limit=100")
    ids = [it["id"] for it in items]
    assert len(ids) == len(set(ids)), "duplicates across pages"
    assert set(ids) == catalog.served_ids()
    assert pages == -(-len(ids) // 100)


def test_link_is_absolute_and_keeps_every_param(client: httpx.Client) -> None:
    r = client.get(
        "/api/models",
        params=[
            ("inference_provider", "all"),
            ("filter", "region:us"),
            ("expand[]", "downloads"),
            ("limit", "50"),
            ("sort", "likes"),
        ],
    )
    link = r.links["next"]["url"]
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "hub.test", "/api/models")
    params = parse_qsl(parts.query)
    for pair in [
        ("inference_provider", "all"),
        ("filter", "region:us"),
        ("expand[]", "downloads"),
        ("limit", "50"),
        ("sort", "likes"),
    ]:
        assert pair in params
    assert [k for k, _ in params].count("cursor") == 1
    # The default sort is spelled out in next links, like the Hub's.
    r = client.get("/api/models?limit=10")
    assert ("sort", "trendingScore") in parse_qsl(urlsplit(r.links["next"]["url"]).query)


def test_last_page_has_no_link(client: httpx.Client, catalog: Catalog) -> None:
    served = len(catalog.served_ids())
    r = client.get("/api/models", params={"inference_provider": "all", "limit": 100})
    cursor_url = r.links["next"]["url"]
    while "next" in r.links:
        cursor_url = r.links["next"]["url"]
        r = client.get(cursor_url)
    assert len(r.json()) == served - 100 * (-(-served // 100) - 1)


def test_limit_is_clamped_to_page_max_and_validated(client: httpx.Client) -> None:
    assert len(client.get("/api/models?limit=5000").json()) == 100  # app page_max is 100
    assert len(client.get("/api/models").json()) == 100  # default page = page_max
    assert client.get("/api/models?limit=0").status_code == 400
    assert client.get("/api/models?limit=abc").status_code == 400


def test_bad_cursor_is_400(client: httpx.Client) -> None:
    assert client.get("/api/models?cursor=not-a-cursor!").status_code == 400
    first = client.get("/api/models?limit=5&sort=likes")
    cursor = dict(parse_qsl(urlsplit(first.links["next"]["url"]).query))["cursor"]
    assert client.get(f"/api/models?limit=5&sort=downloads&cursor={cursor}").status_code == 400  # other sort


def test_capped_mode_caps_filtered_listings_only(catalog: Catalog) -> None:
    app = make_app(catalog, mode="capped", page_max=300)
    with client_for(app) as c:
        items, _ = page_all(c, "/api/models?inference_provider=all")
        assert len(items) == 1000 < len(catalog.served_ids())
        last = c.get("/api/models?inference_provider=all&limit=300")
        for _ in range(3):
            last = c.get(last.links["next"]["url"])
        assert "next" not in last.links and len(last.json()) == 100
        everything, pages = page_all(c, "/api/models")  # unfiltered: pages normally past 1000
        public = [m for m, it in catalog.models.items() if not it["private"]]
        assert len(everything) == len(public) and pages == -(-len(public) // 300)


def test_capped_mode_small_filtered_listing_is_complete(catalog: Catalog) -> None:
    app = make_app(catalog, mode="capped")
    with client_for(app) as c:
        groq = c.get("/api/models?inference_provider=groq").json()
    assert {it["id"] for it in groq} == set(catalog.provider_ids("groq"))


def test_inference_provider_comma_list_equals_repeated_keys(client: httpx.Client, catalog: Catalog) -> None:
    comma, _ = page_all(client, "/api/models?inference_provider=groq,together&limit=100")
    repeated, _ = page_all(client, "/api/models?inference_provider=groq&inference_provider=together&limit=100")
    assert [i["id"] for i in comma] == [i["id"] for i in repeated]
    assert {i["id"] for i in comma} == set(catalog.provider_ids("groq")) | set(catalog.provider_ids("together"))


def test_provider_filter_matches_any_status(client: httpx.Client, catalog: Catalog) -> None:
    items, _ = page_all(client, "/api/models?inference_provider=hf-inference&expand=inferenceProviderMapping")
    statuses = {e["status"] for it in items for e in it["inferenceProviderMapping"] if e["provider"] == "hf-inference"}
    assert statuses == {"live", "staging", "error"}


# ---------------------------------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "query",
    [
        "sort=trending",
        "sort=created",
        "expand=bogus",
        "expand[]=xetEnabled",
        "expand=author&full=true",
        "expand=author&config=true",
        "expand=author&cardData=true",
        "gated=maybe",
        "num_parameters=lots",
        "num_parameters=min:6X",
    ],
)
def test_bad_parameters_are_400_with_error_body(client: httpx.Client, query: str) -> None:
    r = client.get(f"/api/models?{query}")
    assert r.status_code == 400
    assert isinstance(r.json()["error"], str)


def test_unknown_params_are_ignored(client: httpx.Client) -> None:
    a = client.get("/api/models?limit=7").json()
    b = client.get("/api/models?limit=7&offset=50&direction=-1&apps=ollama").json()
    assert a == b


def test_ascending_direction_is_refused_as_the_hub_does(client: httpx.Client) -> None:
    r = client.get("/api/models?limit=7&direction=1")
    assert r.status_code == 400 and "direction" in r.json()["error"]


def test_default_full_and_expand_shapes(client: httpx.Client, catalog: Catalog) -> None:
    for item in client.get("/api/models?limit=100").json():
        assert set(item) <= set(DEFAULT_KEYS) and {"_id", "id", "modelId", "tags"} <= set(item)
        full = catalog.models[item["id"]]
        assert ("pipeline_tag" in item) == ("pipeline_tag" in full)  # absent stays absent, never null
    for item in client.get("/api/models?limit=100&full=true").json():
        assert not {"inferenceProviderMapping", "safetensors", "cardData", "config"} & set(item)
        assert {"author", "sha", "lastModified", "gated", "siblings"} <= set(item)
    with_config = client.get("/api/models?limit=100&full=true&config=true&cardData=true").json()
    assert any("config" in it for it in with_config) and any("cardData" in it for it in with_config)
    for params in (["author"], ["downloads", "createdAt"], ["inferenceProviderMapping", "safetensors", "gated"]):
        query = "&".join(f"expand={p}" for p in params)
        for item in client.get(f"/api/models?limit=100&{query}").json():
            assert set(item) <= {"_id", "id", *params} and {"_id", "id"} <= set(item)
    bracket = client.get("/api/models?limit=20&expand[]=likes").json()
    assert all(set(it) == {"_id", "id", "likes"} for it in bracket)


def test_listing_mapping_is_list_form(client: httpx.Client) -> None:
    items = client.get("/api/models?inference_provider=all&expand=inferenceProviderMapping&limit=50").json()
    for item in items:
        mapping = item["inferenceProviderMapping"]
        assert isinstance(mapping, list) and 1 <= len(mapping) <= 4
        for entry in mapping:
            assert {"provider", "providerId", "status", "task"} <= set(entry)


@pytest.mark.parametrize(
    "spec,lo,hi",
    [
        ("min:6B,max:128B", 6e9, 128e9),
        ("min:6B", 6e9, float("inf")),
        ("max:500M", 0, 5e8),
        ("min:1.5B,max:8B", 1.5e9, 8e9),
    ],
)
def test_num_parameters_ranges(client: httpx.Client, catalog: Catalog, spec: str, lo: float, hi: float) -> None:
    items, _ = page_all(client, f"/api/models?num_parameters={spec}&expand=safetensors")
    expected = {
        m
        for m, it in catalog.models.items()
        if not it["private"] and "safetensors" in it and lo <= it["safetensors"]["total"] <= hi
    }
    assert {it["id"] for it in items} == expected and expected
    assert all(lo <= it["safetensors"]["total"] <= hi for it in items)


def test_filters(client: httpx.Client, catalog: Catalog) -> None:
    public = {m: it for m, it in catalog.models.items() if not it["private"]}

    def listed(query: str) -> set[str]:
        return {it["id"] for it in page_all(client, f"/api/models?{query}")[0]}

    assert listed("pipeline_tag=text-to-image") == {
        m for m, it in public.items() if it.get("pipeline_tag") == "text-to-image"
    }
    assert listed("filter=diffusers&filter=license:mit") == {
        m for m, it in public.items() if "diffusers" in it["tags"] and "license:mit" in it["tags"]
    }
    assert listed("gated=true") == {m for m, it in public.items() if it["gated"]}
    assert listed("gated=false") == {m for m, it in public.items() if not it["gated"]}
    assert listed("inference=warm") == {m for m, it in public.items() if it.get("inference") == "warm"}
    author = Counter(it["author"] for it in public.values()).most_common(1)[0][0]
    assert listed(f"author={author}") == {m for m, it in public.items() if it["author"] == author}
    assert listed("search=GGUF") == {m for m in public if "gguf" in m.lower()}


def test_sort_order_ties_and_nulls(catalog: Catalog) -> None:
    cat = generate_catalog(300, seed=4)
    first, second, third = list(cat.models)[:3]
    cat.update(first, likes=5)
    cat.update(second, likes=5)
    cat.update(third, likes=Catalog.DELETE)  # missing sort value -> listed last
    with client_for(make_app(cat)) as c:
        items = c.get("/api/models?sort=likes&expand=likes").json()
    keys = [(it.get("likes"), it["_id"]) for it in items]
    assert items[-1]["id"] == third and "likes" not in items[-1]
    valued = keys[:-1]
    assert all(a[0] > b[0] or (a[0] == b[0] and a[1] < b[1]) for a, b in zip(valued, valued[1:], strict=False))
    private = {m for m, it in cat.models.items() if it["private"]}
    assert not private & {it["id"] for it in items}


# ---------------------------------------------------------------------------------------------- model_info, whoami
def test_model_info_dict_form_and_expand(client: httpx.Client, catalog: Catalog) -> None:
    mid = next(m for m, it in catalog.models.items() if len(it["inferenceProviderMapping"]) >= 2)
    info = client.get(f"/api/models/{mid}").json()
    mapping = info["inferenceProviderMapping"]
    assert isinstance(mapping, dict)
    assert set(mapping) == {e["provider"] for e in catalog.models[mid]["inferenceProviderMapping"]}
    for value in mapping.values():
        assert "provider" not in value and {"providerId", "status", "task", "isModelAuthor"} <= set(value)
    assert {"safetensors", "siblings", "author", "sha"} & set(info)
    narrow = client.get(f"/api/models/{mid}?expand=inferenceProviderMapping").json()
    assert set(narrow) == {"_id", "id", "inferenceProviderMapping"}
    assert isinstance(narrow["inferenceProviderMapping"], dict)
    assert client.get(f"/api/models/{mid}/revision/main").json()["id"] == mid
    assert client.get(f"/api/models/{mid}?expand=nope").status_code == 400


def test_model_info_not_found_headers(client: httpx.Client, catalog: Catalog) -> None:
    r = client.get("/api/models/no-such-org/no-such-model")
    assert r.status_code == 404 and r.headers["X-Error-Code"] == "RepoNotFound" and r.headers["X-Error-Message"]
    private = next((m for m, it in catalog.models.items() if it["private"]), None)
    if private is not None:
        assert client.get(f"/api/models/{private}").status_code == 404


def test_whoami_needs_token(catalog: Catalog) -> None:
    app = make_app(catalog, token="hf_right")
    with client_for(app) as c:
        assert c.get("/api/whoami-v2").status_code == 401
        assert c.get("/api/whoami-v2", headers={"Authorization": "Bearer hf_wrong"}).status_code == 401
        assert c.get("/api/whoami-v2", headers={"Authorization": "Bearer sk_right"}).status_code == 401
        r = c.get("/api/whoami-v2", headers={"Authorization": "Bearer hf_right"})
    assert r.status_code == 200
    token = r.json()["auth"]["accessToken"]
    assert token["role"] == "fineGrained" and "inference.serverless.write" in token["fineGrained"]["global"]
    with client_for(make_app(catalog)) as c:  # no configured token: any hf_ token is accepted
        assert c.get("/api/whoami-v2", headers=TOKEN).status_code == 200


def test_rate_limit_headers_and_404_json(client: httpx.Client) -> None:
    r1 = client.get("/api/models?limit=1")
    r2 = client.get("/nowhere")
    assert r2.status_code == 404 and r2.headers["content-type"] == "application/json" and "error" in r2.json()
    assert r1.headers["RateLimit-Policy"] == '"fixed window";"api";q=10000;w=300'
    remaining = [int(r.headers["RateLimit"].split(";")[1].removeprefix("r=")) for r in (r1, r2)]
    assert remaining[0] - 1 == remaining[1]


# ---------------------------------------------------------------------------------------------- router
def test_router_models_shape(client: httpx.Client, catalog: Catalog) -> None:
    body = client.get("/v1/models").json()
    assert body["object"] == "list" and len(body["data"]) == len(catalog.router)
    for model in body["data"]:
        assert model["object"] == "model" and model["owned_by"] and isinstance(model["created"], int)
        assert set(model["architecture"]) == {"input_modalities", "output_modalities"}
        for p in model["providers"]:
            assert p.get("status", "live") in ("live", "error") and isinstance(p["is_model_author"], bool)
    providers = [p for m in body["data"] for p in m["providers"]]
    assert any("pricing" in p and "context_length" in p for p in providers)
    assert any("pricing" not in p and "context_length" not in p for p in providers)  # neither
    assert any("pricing" in p and "context_length" not in p for p in providers)  # pricing without context
    assert any("pricing" not in p and "context_length" in p for p in providers)  # context without pricing
    assert any("status" not in p for p in providers)
    assert any(isinstance(v, int) for p in providers for v in (p.get("pricing") or {}).values())
    one = body["data"][0]
    assert client.get(f"/v1/models/{one['id']}").json()["id"] == one["id"]


def chat(c: httpx.Client, model: str, headers: dict[str, str] | None = TOKEN) -> httpx.Response:
    return c.post(
        "/v1/chat/completions",
        headers=headers,
        json={"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1},
    )


@pytest.mark.parametrize(
    "behaviour,status",
    [
        ("ok", 200),
        ("auth", 403),
        ("payment", 402),
        ("not_found", 404),
        ("gone", 410),
        ("rate_limited", 429),
        ("server_error", 503),
        ("hang", 504),
    ],
)
def test_chat_completion_health_behaviours(behaviour: str, status: int) -> None:
    cat = mutable_catalog()
    mid, entries = next(iter(cat.router.items()))
    provider = entries[0]["provider"]
    cat.health.clear()
    if behaviour != "ok":
        cat.health[(mid, provider)] = behaviour
    app = make_app(cat)
    app.hang_s = 0.2  # the real default is 30 s
    with client_for(app) as c:
        started = time.perf_counter()
        r = chat(c, f"{mid}:{provider}")
        elapsed = time.perf_counter() - started
    assert r.status_code == status, r.text
    if behaviour == "ok":
        body = r.json()
        assert body["object"] == "chat.completion" and body["choices"][0]["finish_reason"] in ("length", "stop")
    if behaviour == "rate_limited":
        assert int(r.headers["Retry-After"]) >= 0
    if behaviour == "payment":
        assert "exceeded your monthly included credits" in r.json()["error"]
    if behaviour == "hang":
        assert elapsed >= 0.2


def test_chat_completion_hang_stops_on_close() -> None:
    cat = mutable_catalog()
    mid, entries = next(iter(cat.router.items()))
    cat.health[(mid, entries[0]["provider"])] = "hang"
    app = make_app(cat)  # default 30 s hang
    app.close()
    with client_for(app) as c:
        started = time.perf_counter()
        assert chat(c, f"{mid}:{entries[0]['provider']}").status_code == 504
    assert time.perf_counter() - started < 2


def test_chat_completion_network_drop_in_process() -> None:
    cat = mutable_catalog()
    mid, entries = next(iter(cat.router.items()))
    cat.health[(mid, entries[0]["provider"])] = "network"
    with client_for(make_app(cat)) as c, pytest.raises(httpx.TransportError):
        chat(c, f"{mid}:{entries[0]['provider']}")


def test_chat_completion_auth_and_unknown_model(client: httpx.Client, catalog: Catalog) -> None:
    mid, entries = next(iter(catalog.router.items()))
    assert chat(client, f"{mid}:{entries[0]['provider']}", headers=None).status_code == 401
    assert chat(client, f"{mid}:{entries[0]['provider']}", headers={"Authorization": "Bearer sk-x"}).status_code == 401
    r = chat(client, "nobody/nothing:groq")
    assert r.status_code == 400 and "is not supported by any provider you have enabled" in r.json()["error"]
    served = {e["provider"] for e in entries}
    other = next(p for p in KNOWN_PROVIDERS if p not in served)
    assert chat(client, f"{mid}:{other}").status_code == 400
    # No suffix / a policy suffix picks a live provider of the model.
    if any(e["status"] == "live" for e in entries) and not any(k[0] == mid for k in catalog.health):
        assert chat(client, mid).status_code == 200
        assert chat(client, f"{mid}:cheapest").status_code == 200


# ---------------------------------------------------------------------------------------------- faults
def fault_app(spec: str | list[str], catalog: Catalog | None = None, **kw: object) -> FakeHubApp:
    specs = [spec] if isinstance(spec, str) else spec
    return make_app(catalog or generate_catalog(400, seed=2), faults=[parse_fault(s) for s in specs], **kw)


def test_fault_status_times_and_after() -> None:
    app = fault_app("status:code=502,times=2,after=1")
    with client_for(app) as c:
        responses = [c.get("/api/models?limit=5") for _ in range(5)]
        assert [r.status_code for r in responses] == [200, 502, 502, 200, 200]
        assert "error" in responses[1].json() and responses[1].headers["content-type"] == "application/json"
    forever = fault_app("status:times=0")
    with client_for(forever) as c:
        assert {c.get("/api/models").status_code for _ in range(4)} == {503}


def test_fault_path_and_provider_scoping() -> None:
    app = fault_app(["status:code=500,provider=groq,times=0", "status:code=418,path=/api/whoami-v2"])
    with client_for(app) as c:
        assert c.get("/api/models?inference_provider=together").status_code == 200
        assert c.get("/api/models").status_code == 200
        assert c.get("/api/models?inference_provider=together,groq").status_code == 500
        assert c.get("/api/models?inference_provider=hf-inference&inference_provider=groq").status_code == 500
        assert c.get("/v1/models").status_code == 200
        assert c.get("/api/whoami-v2", headers=TOKEN).status_code == 418
        assert c.get("/api/whoami-v2", headers=TOKEN).status_code == 200


def test_fault_ratelimit_styles() -> None:
    with client_for(fault_app("ratelimit:style=retry-after,reset=7")) as c:
        r = c.get("/api/models")
        assert r.status_code == 429 and r.headers["Retry-After"] == "7"
        assert c.get("/api/models").status_code == 200
    with client_for(fault_app("ratelimit:style=ratelimit,reset=3")) as c:
        r = c.get("/api/models")
        assert r.status_code == 429 and r.headers["RateLimit"] == '"api";r=0;t=3' and "Retry-After" not in r.headers
        assert r.headers["RateLimit-Policy"].startswith('"fixed window"')


def test_fault_truncate() -> None:
    with client_for(fault_app("truncate")) as c:
        r = c.get("/api/models?limit=20")
        assert r.status_code == 200
        with pytest.raises(ValueError):
            orjson.loads(r.content)
        full = c.get("/api/models?limit=20").content
        assert len(r.content) == len(full) // 2 and full.startswith(r.content)


def test_fault_malformed_cycles_and_counts_pages() -> None:
    app = fault_app("malformed:count=4,times=1", page_max=10)
    with client_for(app) as c:
        first = c.get("/api/models?inference_provider=all&expand=inferenceProviderMapping&expand=downloads&expand=tags")
        second = c.get(first.links["next"]["url"])
    bad = first.json()
    assert "id" not in bad[0] and "_id" in bad[0]
    assert isinstance(bad[1]["downloads"], str) and isinstance(bad[1]["tags"], int)
    assert isinstance(bad[2]["inferenceProviderMapping"], str)
    assert "id" not in bad[3]  # cycles
    assert all(isinstance(it["inferenceProviderMapping"], list) for it in bad[4:])
    assert all("id" in it and isinstance(it["inferenceProviderMapping"], list) for it in second.json())


def test_fault_loop_next_link_repeats_current_url() -> None:
    app = fault_app("loop:times=2", page_max=10)
    with client_for(app) as c:
        first = c.get("/api/models?limit=10&sort=likes")
        assert first.links["next"]["url"] == "http://hub.test/api/models?limit=10&sort=likes"
        again = c.get(first.links["next"]["url"])
        assert again.json() == first.json() and again.links["next"]["url"] == first.links["next"]["url"]
        third = c.get(again.links["next"]["url"])  # fault exhausted: a real cursor now
        assert "cursor=" in third.links["next"]["url"]


def test_fault_stale_repeats_the_first_page_under_an_advancing_cursor() -> None:
    app = fault_app("stale:after=1,times=2", page_max=10)
    with client_for(app) as c:
        first = c.get("/api/models?limit=10&sort=likes")
        second = c.get(first.links["next"]["url"])
        third = c.get(second.links["next"]["url"])
        fourth = c.get(third.links["next"]["url"])  # fault exhausted: the real fourth page
    assert second.json() == first.json() == third.json() != fourth.json()
    urls = [r.links["next"]["url"] for r in (first, second, third)]
    assert len(set(urls)) == 3 and all("cursor=" in u for u in urls)


def test_fault_shrink_drops_deterministic_share() -> None:
    cat = generate_catalog(1000, seed=5)
    with client_for(fault_app("shrink:ratio=0.5,times=0", cat)) as c:
        items, _ = page_all(c, "/api/models?inference_provider=all")
        again, _ = page_all(c, "/api/models?inference_provider=all")
    served = cat.served_ids()
    kept = {it["id"] for it in items}
    assert kept == {it["id"] for it in again} and kept < served
    assert kept == {m for m in served if zlib.crc32(m.encode()) >= 0.5 * 2**32}
    assert 0.35 < len(kept) / len(served) < 0.65


def test_fault_slow_and_latency() -> None:
    with client_for(fault_app("slow:ms=150")) as c:
        t0 = time.perf_counter()
        c.get("/api/models?limit=1")
        t1 = time.perf_counter()
        c.get("/api/models?limit=1")
        t2 = time.perf_counter()
    assert t1 - t0 >= 0.15 and t2 - t1 < 0.15
    app = make_app(generate_catalog(50), latency_ms=60)
    with client_for(app) as c:
        t0 = time.perf_counter()
        c.get("/api/whoami-v2")
        assert time.perf_counter() - t0 >= 0.06


def test_faults_list_is_mutable_at_runtime(client: httpx.Client, app: FakeHubApp) -> None:
    assert client.get("/api/models?limit=1").status_code == 200
    app.faults.append(parse_fault("status:code=500"))
    assert client.get("/api/models?limit=1").status_code == 500
    assert client.get("/api/models?limit=1").status_code == 200
    assert app.faults[0].hits == 1


@pytest.mark.parametrize(
    "spec,message",
    [
        (
            "bogus",
            "unknown fault kind 'bogus' "
            "(expected one of status, ratelimit, truncate, malformed, oldshape, loop, stale, shrink, slow, drift)",
        ),
        ("status:code=abc", "code must be a number"),
        ("status:code=42", "code must be an HTTP status"),
        ("status:ratio=0.5", "unknown key 'ratio' for status"),
        ("ratelimit:style=weird", "style must be one of"),
        ("shrink:ratio=2", "ratio must be within"),
        ("slow:ms", "expected key=value"),
        ("status:times=-1", "times and after must be >= 0"),
        ("status:path=api", "path must start with"),
    ],
)
def test_parse_fault_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_fault(spec)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_parse_fault_values() -> None:
    f = parse_fault("ratelimit:style=ratelimit,reset=4,times=0,after=2,provider=groq,path=/v1")
    assert (f.kind, f.style, f.reset, f.times, f.after, f.provider, f.path) == (
        "ratelimit",
        "ratelimit",
        4,
        0,
        2,
        "groq",
        "/v1",
    )
    assert parse_fault("shrink").ratio == 0.6 and parse_fault("malformed").count == 3
    assert parse_fault("status") == Fault("status", code=503, times=1)


# ---------------------------------------------------------------------------------------------- generator
def test_generator_is_deterministic() -> None:
    a, b = generate_catalog(600, seed=11), generate_catalog(600, seed=11)
    assert orjson.dumps(a.models) == orjson.dumps(b.models)
    assert a.router == b.router and a.health == b.health
    assert orjson.dumps(generate_catalog(600, seed=12).models) != orjson.dumps(a.models)


def test_generator_is_deterministic_across_processes() -> None:
    """String hashing is randomized per process: nothing may depend on set/dict-of-str iteration order."""
    code = (
        "import hashlib, orjson; from etl.fakehub import generate_catalog; c = generate_catalog(400, 3); "
        "print(hashlib.sha256(orjson.dumps([c.models, c.router, sorted(map(list, c.health.items()))]))"
        ".hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=Path(__file__).resolve().parents[1],
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_generator_realism(catalog: Catalog) -> None:
    items = list(catalog.models.values())
    assert len(set(catalog.models)) == 1500 and all("/" in m for m in catalog.models)
    assert len({it["_id"] for it in items}) == 1500 and all(len(it["_id"]) == 24 for it in items)
    assert all(len(it["sha"]) == 40 and it["createdAt"].endswith(".000Z") for it in items)
    assert any(it["createdAt"] == "2022-03-02T23:29:04.000Z" for it in items)
    assert all(it["lastModified"] >= it["createdAt"] for it in items)
    for key in ("pipeline_tag", "library_name", "safetensors", "cardData", "config"):
        present = sum(key in it for it in items)
        assert 0 < present < len(items), key  # present on some, absent on others
    for key in ("pipeline_tag", "library_name"):  # unknown ones: mostly an explicit null, sometimes no key
        nulls = sum(key in it and it[key] is None for it in items)
        assert 0 < nulls < sum(key not in it or it[key] is None for it in items), key
    assert {it["gated"] for it in items} == {False, "auto", "manual"}
    unserved = sum(not it["inferenceProviderMapping"] for it in items) / len(items)
    assert 0.05 < unserved < 0.2
    assert any(isinstance(it["trendingScore"], float) for it in items)
    downloads = sorted(it["downloads"] for it in items)
    assert downloads[len(downloads) // 2] * 100 < downloads[-1]  # heavy tail
    providers = {e["provider"] for it in items for e in it["inferenceProviderMapping"]}
    assert set(UNKNOWN_PROVIDERS) & providers and providers <= set(KNOWN_PROVIDERS) | set(UNKNOWN_PROVIDERS)
    assert set(catalog.health.values()) == {
        "auth",
        "payment",
        "not_found",
        "gone",
        "rate_limited",
        "server_error",
        "hang",
        "network",
    }
    assert all(
        any(e["task"] == "conversational" for e in catalog.models[m]["inferenceProviderMapping"])
        for m in catalog.router
    )


def test_provider_shares_at_5000() -> None:
    cat = generate_catalog(5000, seed=0)
    per_provider = {p: len(cat.provider_ids(p)) for p in (*KNOWN_PROVIDERS, *UNKNOWN_PROVIDERS)}
    hf_tags = {cat.models[m].get("pipeline_tag") for m in cat.provider_ids("hf-inference")}
    feather_tags = {cat.models[m].get("pipeline_tag") for m in cat.provider_ids("featherless-ai")}
    assert per_provider["hf-inference"] > 2500 and len(hf_tags) >= 10
    assert 1150 <= per_provider["featherless-ai"] <= 1450 and feather_tags == {"text-generation"}
    assert all(n < 1000 for p, n in per_provider.items() if p not in ("hf-inference", "featherless-ai"))
    with client_for(make_app(cat, mode="capped")) as c:  # the cap bites on hf-inference and featherless only
        assert len(page_all(c, "/api/models?inference_provider=hf-inference")[0]) == 1000
        assert len(page_all(c, "/api/models?inference_provider=featherless-ai")[0]) == 1000
        assert len(page_all(c, "/api/models?inference_provider=together")[0]) == per_provider["together"]


# ---------------------------------------------------------------------------------------------- catalog
def test_catalog_mutators_bump_version_and_change_listings() -> None:
    cat = mutable_catalog()
    app = make_app(cat)
    with client_for(app) as c:

        def listed(query: str = "inference_provider=all") -> set[str]:
            return {it["id"] for it in page_all(c, f"/api/models?{query}")[0]}

        before = listed()
        unserved = next(m for m, it in cat.models.items() if not it["inferenceProviderMapping"] and not it["private"])
        served = next(iter(sorted(before)))
        v = cat.version
        cat.set_mapping(unserved, [{"provider": "groq", "providerId": "x", "status": "live", "task": "conversational"}])
        assert cat.version > v and cat.models[unserved]["inference"] == "warm"
        assert listed() == before | {unserved} and unserved in listed("inference_provider=groq")

        v = cat.version
        cat.remove(served)
        assert cat.version > v and served not in listed() and served not in cat.router
        assert c.get(f"/api/models/{served}").status_code == 404

        v = cat.version
        cat.update(unserved, gated="manual", tags=["custom-tag"])
        assert cat.version > v and unserved in listed("filter=custom-tag") and unserved in listed("gated=true")

        v = cat.version
        cat.put({"id": "new-org/new-model", "downloads": 10**12, "tags": [], "private": False})
        assert cat.version > v
        top = c.get("/api/models?sort=downloads&limit=1").json()[0]
        assert top["id"] == "new-org/new-model" and len(top["_id"]) == 24

        v = cat.version
        cat.set_router("new-org/new-model", [{"provider": "groq", "status": "live", "is_model_author": False}])
        assert cat.version > v
        assert "new-org/new-model" in {m["id"] for m in c.get("/v1/models").json()["data"]}
        assert chat(c, "new-org/new-model:groq").status_code == 200

        v = cat.version
        cat.models["new-org/new-model"]["likes"] = 10**9  # direct edit, then touch()
        cat.touch()
        assert cat.version > v and c.get("/api/models?sort=likes&limit=1").json()[0]["id"] == "new-org/new-model"


def test_cursor_survives_catalog_changes_without_duplicates() -> None:
    cat = mutable_catalog(500, seed=8)
    with client_for(make_app(cat, page_max=50)) as c:
        first = c.get("/api/models?sort=createdAt&expand=createdAt")
        seen = [it["id"] for it in first.json()]
        cat.remove(seen[10])  # shifts every later offset by one
        cat.put({"id": "late/arrival", "createdAt": "2000-01-01T00:00:00.000Z", "tags": [], "private": False})
        rest, _ = page_all(c, first.links["next"]["url"])
    ids = seen + [it["id"] for it in rest]
    assert len(ids) == len(set(ids))
    public = {m for m, it in cat.models.items() if not it["private"]}
    assert public <= set(ids) and "late/arrival" in ids


def test_listing_cache_makes_deep_pages_cheap() -> None:
    cat = generate_catalog(20_000, seed=9)
    with client_for(make_app(cat)) as c:
        t0 = time.perf_counter()
        first = c.get("/api/models?inference_provider=all&sort=downloads")
        t1 = time.perf_counter()
        nxt = first.links["next"]["url"]
        for _ in range(5):
            r = c.get(nxt)
            nxt = r.links["next"]["url"]
        t2 = time.perf_counter()
    assert t1 - t0 < 1.0
    assert (t2 - t1) / 5 < max(0.2, t1 - t0)


def test_stats(client: httpx.Client, app: FakeHubApp) -> None:
    app.stats.reset()
    client.get("/api/models?limit=2")
    client.get("/api/models?limit=3")
    client.get("/v1/models")
    assert app.stats.requests == 3
    assert app.stats.by_path["/api/models"] == 2 and app.stats.by_path["/v1/models"] == 1
    assert app.stats.log == ["/api/models?limit=2", "/api/models?limit=3", "/v1/models"]
    app.stats.reset()
    assert app.stats.requests == 0 and not app.stats.log and not app.stats.by_path


# ---------------------------------------------------------------------------------------- real HTTP + huggingface_hub
def test_huggingface_hub_client_against_threaded_server() -> None:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError
    from huggingface_hub.hf_api import InferenceProviderMapping, ModelInfo

    cat = generate_catalog(1200, seed=6)
    app = make_app(cat, page_max=100)
    url, stop = start_in_thread(app)
    try:
        api = HfApi(endpoint=url, token=False)
        models = list(
            api.list_models(
                inference_provider="all", limit=None, expand=["inferenceProviderMapping", "pipeline_tag", "downloads"]
            )
        )
        ids = [m.id for m in models]
        assert len(ids) == len(set(ids)) and set(ids) == cat.served_ids()
        assert app.stats.by_path["/api/models"] == -(-len(ids) // 100)  # followed every absolute Link
        assert all(m.inference_provider_mapping for m in models)

        # Unknown provider ids parse fine: huggingface_hub 2.4.0 does not validate provider names on parse.
        unknown = next(
            m
            for m, it in cat.models.items()
            if any(e["provider"] in UNKNOWN_PROVIDERS for e in it["inferenceProviderMapping"])
        )
        for mid in (unknown, ids[0]):
            info = api.model_info(mid, expand=["inferenceProviderMapping"])
            assert isinstance(info, ModelInfo) and info.id == mid
            mapping = info.inference_provider_mapping
            assert isinstance(mapping, list) and all(isinstance(e, InferenceProviderMapping) for e in mapping)
            assert {e.provider for e in mapping} == {e["provider"] for e in cat.models[mid]["inferenceProviderMapping"]}
        with pytest.raises(RepositoryNotFoundError):
            api.model_info("no-such-org/no-such-model")

        # network health over a real socket: the server hangs up without any response.
        mid, entries = next(iter(cat.router.items()))
        cat.health[(mid, entries[0]["provider"])] = "network"
        with httpx.Client(base_url=url) as c, pytest.raises(httpx.RemoteProtocolError):
            chat(c, f"{mid}:{entries[0]['provider']}")
    finally:
        stop()


# ---------------------------------------------------------------------------------------------- recorded shapes
def share(hits: list, total: list) -> float:
    return len(hits) / max(1, len(total))


def test_generator_carries_the_recorded_variants_at_their_rates() -> None:
    cat = generate_catalog(5000, seed=0)
    items = list(cat.models.values())
    entries = [e for it in items for e in it["inferenceProviderMapping"]]
    assert 0.75 < share([e for e in entries if "isModelAuthor" in e], entries) < 0.95
    assert 0.25 < share([e for e in entries if "adapterWeightsPath" in e], entries) < 0.55
    assert any("adapter" in e and e["adapter"] is None for e in entries)
    assert any(e.get("isModelAuthor") is True for e in entries)
    router = [p for ps in cat.router.values() for p in ps]
    assert 0.01 < share([p for p in router if "status" not in p], router) < 0.1
    assert 0.02 < share([p for p in router if "pricing" in p and "context_length" not in p], router) < 0.12
    assert 0 < share([p for p in router if "context_length" in p and "pricing" not in p], router) < 0.05
    assert 0.03 < share([p for p in router if any(isinstance(v, int) for v in p.get("pricing", {}).values())], router)
    st = [it["safetensors"] for it in items if "safetensors" in it]
    multi = [s for s in st if len(s["parameters"]) > 1]
    assert 0.06 < share(multi, st) < 0.2 and all(sum(s["parameters"].values()) == s["total"] for s in st)
    states = Counter(it.get("inference") for it in items)
    assert states["warm"] and states["cold"] and states["not-popular-enough"] > states["cold"] and states[None]
    tags = {it.get("pipeline_tag") for it in items}
    assert {"image-text-to-video", "video-to-video", "image-to-3d", "table-question-answering"} <= tags
    assert sum("pipeline_tag" in it and it["pipeline_tag"] is None for it in items) > sum(
        "pipeline_tag" not in it for it in items
    )


def test_model_info_omits_expand_only_counters_and_sends_explicit_nulls(client: httpx.Client, catalog: Catalog) -> None:
    bodies = [
        client.get(f"/api/models/{mid}").json()
        for mid in sorted(catalog.models)[:200]
        if not catalog.models[mid]["private"]
    ]
    assert not any("downloadsAllTime" in b or "trendingScore" in b for b in bodies)
    nulls = sum("model-index" in b and b["model-index"] is None for b in bodies) / len(bodies)
    assert 0.65 < nulls < 0.95
    full = client.get("/api/models?limit=100&full=true").json()
    assert not any("downloadsAllTime" in it for it in full) and all("trendingScore" in it for it in full)
    mid = sorted(catalog.models)[0]
    assert set(client.get(f"/api/models/{mid}?expand=downloadsAllTime").json()) == {"_id", "id", "downloadsAllTime"}


def test_huggingface_hub_parses_recorded_variants(client: httpx.Client, catalog: Catalog) -> None:
    from huggingface_hub.hf_api import ModelInfo

    for mid in sorted(catalog.served_ids())[:100]:
        info = ModelInfo(**client.get(f"/api/models/{mid}").json())
        assert info.id == mid and info.inference_provider_mapping is not None


def test_removed_provider_answers_400_unknown_provider(app: FakeHubApp, client: httpx.Client) -> None:
    app.removed_providers.add("hyperbolic")
    try:
        r = client.get("/api/models?inference_provider=groq,hyperbolic")
        assert r.status_code == 400 and "unknown provider 'hyperbolic'" in r.json()["error"]
        assert client.get("/api/models?inference_provider=groq").status_code == 200
    finally:
        app.removed_providers.clear()


def test_fault_oldshape_serves_model_id_without_id(client: httpx.Client, app: FakeHubApp) -> None:
    app.faults.append(parse_fault("oldshape:count=2,times=1"))
    try:
        items = client.get("/api/models?limit=5&expand=downloads").json()
    finally:
        app.faults.clear()
    assert all("id" not in it and it["modelId"] for it in items[:2]) and all("id" in it for it in items[2:])
