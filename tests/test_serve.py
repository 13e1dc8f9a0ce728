"""`hfsnap serve`: OpenRouter's official SDK as the client on a loopback uvicorn server, over a real refreshed snapshot.

Runs on SQLite and PostgreSQL (HFSNAP_TEST_PG_URL). Only the server's clock is fixed (for uptime windows and
/healthz); everything else is the real app, the real database and the real fake hub.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import httpx
import orjson
import pytest
import uvicorn
from conftest import TOKEN, Harness
from openrouter import OpenRouter, components, errors

from etl.config import ServeConfig
from etl.db import open_existing
from etl.demo import start_fake_hub
from etl.health import health_client, run_health
from etl.queries import changes
from etl.serve import create_app

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_backends


@contextlib.contextmanager
def served(url: str, clock: Callable[[], float] = time.time, stale_after_hours: float = 13.0) -> Iterator[str]:
    """The app over the database at `url`, on a loopback port, for the duration of the block."""
    engine = open_existing(url)
    app = create_app(engine, ServeConfig(stale_after_hours=stale_after_hours), clock=clock)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        engine.dispose()


@pytest.fixture
def snap(harness: Callable[..., Harness]) -> Harness:
    h = harness(models=200)
    h.refresh()
    return h


def _listed(h: Harness) -> set[str]:
    return {m for (m,) in h.sql("SELECT model_id FROM catalog_membership WHERE valid_to IS NULL")}


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


# ---- the SDK as the client ----------------------------------------------------------------------------------


def test_the_sdk_lists_every_model_page_by_page(snap):
    with served(snap.url) as base, OpenRouter(server_url=f"{base}/api/v1") as client:
        page = client.models.list(limit=50)
        ids: list[str] = []
        while page is not None:
            ids += [m.id for m in page.result.data]
            assert page.result.total_count == len(_listed(snap))
            page = page.next()
    assert len(ids) == len(set(ids)) and set(ids) == _listed(snap) == snap.catalog.served_ids()


def test_the_sdk_lists_the_endpoints_of_a_model(snap):
    model_id, count = snap.sql(
        "SELECT model_id, COUNT(*) FROM model_providers WHERE valid_to IS NULL GROUP BY model_id "
        "ORDER BY COUNT(*) DESC, model_id LIMIT 1"
    )[0]
    author, slug = model_id.split("/", 1)
    with served(snap.url) as base, OpenRouter(server_url=f"{base}/api/v1") as client:
        listed = client.endpoints.list(author=author, slug=slug).data
    mappings = snap.sql(
        "SELECT provider, status FROM model_providers WHERE model_id = ? AND valid_to IS NULL ORDER BY provider",
        model_id,
    )
    assert count > 1 and listed.id == model_id
    assert [(e.tag, e.status) for e in listed.endpoints] == [
        (p, {"live": 0, "error": -1, "staging": -10}[s]) for p, s in mappings
    ]


def test_an_unknown_model_is_404_with_a_json_error(snap):
    with served(snap.url) as base, OpenRouter(server_url=f"{base}/api/v1") as client:
        with pytest.raises(errors.NotFoundResponseError):
            client.endpoints.list(author="nobody", slug="nothing")
        answer = httpx.get(f"{base}/api/v1/models/nobody/nothing/endpoints")
    assert answer.status_code == 404 and "nobody/nothing" in answer.json()["error"]["message"]


def test_the_list_is_a_valid_models_list_response(snap):
    with served(snap.url) as base:
        body = httpx.get(f"{base}/api/v1/models").json()
    parsed = components.ModelsListResponse.model_validate(body)
    assert parsed.total_count == len(parsed.data) == len(_listed(snap)) and parsed.links.next is None


@pytest.mark.parametrize(
    "query",
    [
        "as_of=yesterday",
        "as_of=2026-13-01",
        "limit=0",
        "limit=ten",
        "offset=-1",
        "supported_parameters=teleport",
        "provider=",
        "colour=blue",
        "limit=5&limit=6",
    ],
)
def test_bad_query_parameters_are_400_with_a_json_error(snap, query):
    with served(snap.url) as base:
        answer = httpx.get(f"{base}/api/v1/models?{query}")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 400 and answer.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/v1/changes?since=last-week", "/changes.atom?limit=0", "/changes.atom?x=1"])
def test_bad_feed_parameters_are_400(snap, path):
    with served(snap.url) as base:
        answer = httpx.get(f"{base}{path}")
    assert answer.status_code == 400 and answer.json()["error"]["message"]


# ---- filters and time travel ---------------------------------------------------------------------------------


def test_as_of_gives_the_catalog_as_it_was(snap):
    between = snap.one("SELECT finished_at FROM runs WHERE run_id = 1")
    # Not a text-generation model: the `top` source would still see it served and hold it a run longer.
    gone = next(
        m for m in sorted(snap.catalog.served_ids()) if snap.catalog.models[m].get("pipeline_tag") != "text-generation"
    )
    snap.catalog.remove(gone)
    snap.refresh()
    snap.refresh()  # retire_after_misses = 2
    with served(snap.url) as base:
        now = {m["id"] for m in httpx.get(f"{base}/api/v1/models").json()["data"]}
        past = {m["id"] for m in httpx.get(f"{base}/api/v1/models", params={"as_of": between}).json()["data"]}
    assert gone in past and gone not in now and past - now == {gone}


def _cheaper(h: Harness) -> str:
    """A model whose every router price drops to 0.25 / 0.5 per 1M tokens (so that offer becomes the cheapest)."""
    model_id = next(
        m for m in sorted(h.catalog.served_ids()) if any(e.get("pricing") for e in h.catalog.router.get(m, ()))
    )
    entries = [dict(e) for e in h.catalog.router[model_id]]
    for entry in entries:
        if entry.get("pricing"):
            entry["pricing"] = {"input": 0.25, "output": 0.5}
    h.catalog.set_router(model_id, entries)
    return model_id


def test_the_current_list_follows_each_new_run(snap):
    with served(snap.url) as base:
        before = {m["id"]: m for m in httpx.get(f"{base}/api/v1/models").json()["data"]}
        model_id = _cheaper(snap)
        snap.refresh()
        after = {m["id"]: m for m in httpx.get(f"{base}/api/v1/models").json()["data"]}
        tools = httpx.get(f"{base}/api/v1/models", params={"supported_parameters": "tools"}).json()["data"]
    assert (
        before[model_id]["pricing"] != after[model_id]["pricing"] == {"prompt": "0.00000025", "completion": "0.0000005"}
    )
    assert {m for m in after if m != model_id} == {m for m in before if m != model_id}
    assert {m["id"] for m in tools} == {m for m, v in after.items() if "tools" in v["supported_parameters"]}


def test_the_current_list_is_built_once_per_loaded_run(snap):
    from etl.listcache import CurrentList
    from etl.openrouter import iter_model_json, select
    from etl.queries import AsOf

    engine = open_existing(snap.url)
    current = CurrentList()
    try:
        first = current.parts(engine)
        assert current.parts(engine) is first  # no new run: the same list, nothing read again
        assert list(select(first)) == list(iter_model_json(engine, AsOf()))
        _cheaper(snap)
        snap.refresh()
        second = current.parts(engine)
        assert second is not first and current.parts(engine) is second
        assert list(select(second)) == list(iter_model_json(engine, AsOf())) != list(select(first))
    finally:
        engine.dispose()


def test_provider_filter(snap):
    provider, expected = (
        "together",
        {
            m
            for (m,) in snap.sql(
                "SELECT p.model_id FROM model_providers p JOIN catalog_membership c ON c.model_id = p.model_id "
                "AND c.valid_to IS NULL WHERE p.valid_to IS NULL AND p.status = 'live' AND p.provider = 'together'"
            )
        },
    )
    with served(snap.url) as base:
        got = httpx.get(f"{base}/api/v1/models", params={"provider": provider}).json()
        also = httpx.get(f"{base}/api/v1/models", params={"providers": f"{provider},nobody"}).json()
    assert expected and {m["id"] for m in got["data"]} == expected == {m["id"] for m in also["data"]}
    assert got["total_count"] == len(expected)


def test_supported_parameters_filter(snap):
    with served(snap.url) as base:
        every = httpx.get(f"{base}/api/v1/models").json()["data"]
        tools = httpx.get(f"{base}/api/v1/models", params={"supported_parameters": "tools"}).json()["data"]
        both = httpx.get(f"{base}/api/v1/models", params={"supported_parameters": "tools,response_format"}).json()
    assert {m["id"] for m in tools} == {m["id"] for m in every if "tools" in m["supported_parameters"]}
    assert 0 < len(both["data"]) < len(tools) < len(every)
    assert all({"tools", "response_format"} <= set(m["supported_parameters"]) for m in both["data"])


# ---- health data in the endpoints ----------------------------------------------------------------------------


def test_uptime_and_latency_come_from_health_checks(snap):
    pairs = snap.sql(
        "SELECT model_id, provider FROM model_providers WHERE valid_to IS NULL AND status = 'live' "
        "AND task = 'conversational' ORDER BY model_id, provider"
    )
    model_id = next(m for m, _ in pairs if sum(1 for x, _ in pairs if x == m) >= 2)
    first, second = [p for m, p in pairs if m == model_id][:2]
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    wsgi = httpx.WSGITransport(app=snap.app)
    snap.catalog.health.clear()
    with health_client(snap.config, token=TOKEN, transport=wsgi) as client:
        run_health(snap.config, client, clock=lambda: t0 - timedelta(hours=5))
    snap.catalog.health[(model_id, first)] = "server_error"
    with health_client(snap.config, token=TOKEN, transport=wsgi) as client:
        run_health(snap.config, client, clock=lambda: t0 - timedelta(minutes=10))
    snap.sql("DELETE FROM health_checks WHERE model_id = ? AND provider = ?", model_id, second)  # never probed
    author, slug = model_id.split("/", 1)
    with served(snap.url, clock=t0.timestamp) as base, OpenRouter(server_url=f"{base}/api/v1") as client:
        endpoints = {e.tag: e for e in client.endpoints.list(author=author, slug=slug).data.endpoints}
    failing, unprobed = endpoints[first], endpoints[second]
    assert (failing.uptime_last_30m, failing.uptime_last_1d, failing.uptime_last_5m) == (0.0, 50.0, None)
    assert failing.latency_last_30m is None  # the latest probe failed
    assert unprobed.uptime_last_30m is None and unprobed.uptime_last_1d is None and unprobed.latency_last_30m is None
    ok_pair = next((m, p) for m, p in pairs if m != model_id)
    latency = snap.one(
        "SELECT latency_ms FROM health_checks WHERE model_id = ? AND provider = ? ORDER BY check_id DESC LIMIT 1",
        *ok_pair,
    )
    with served(snap.url, clock=t0.timestamp) as base, OpenRouter(server_url=f"{base}/api/v1") as client:
        author, slug = ok_pair[0].split("/", 1)
        ok = next(e for e in client.endpoints.list(author=author, slug=slug).data.endpoints if e.tag == ok_pair[1])
    assert ok.uptime_last_30m == 100.0 and ok.latency_last_30m is not None and ok.latency_last_30m.p50 == latency


# ---- change feeds -----------------------------------------------------------------------------------------------


def test_changes_json_is_the_change_feed(snap):
    model_id = sorted(snap.catalog.served_ids())[3]
    snap.catalog.update(model_id, gated="manual")
    snap.refresh()
    started = snap.one("SELECT started_at FROM runs WHERE run_id = 2")
    engine = open_existing(snap.url)
    try:
        expected = orjson.loads(orjson.dumps(changes(engine, 2)))
    finally:
        engine.dispose()
    with served(snap.url) as base:
        by_run = httpx.get(f"{base}/api/v1/changes", params={"since": "2"}).json()
        by_date = httpx.get(f"{base}/api/v1/changes", params={"since": started}).json()
        default = httpx.get(f"{base}/api/v1/changes").json()
    assert by_run["data"] == by_date["data"] == default["data"] == expected
    assert {"change": "gating", "model_id": model_id, "before": "false", "after": "manual"}.items() <= next(
        c for c in expected if c["change"] == "gating"
    ).items()


def test_atom_feed_parses_newest_first_with_before_and_after(snap):
    model_id = next(m for m, e in sorted(snap.catalog.router.items()) if m in snap.catalog.served_ids() and e)
    entries = [dict(e) for e in snap.catalog.router[model_id]]
    entries[0]["pricing"] = {"input": 7.0, "output": 9.0}
    snap.catalog.set_router(model_id, entries)
    snap.refresh()
    with served(snap.url) as base:
        feed = feedparser.parse(httpx.get(f"{base}/changes.atom", params={"limit": 50}).content)
        everything = feedparser.parse(httpx.get(f"{base}/changes.atom", params={"limit": 5000}).content)
    assert not feed.bozo and feed.version == "atom10" and len(feed.entries) == 50
    runs = [int(e.id.split("/")[1]) for e in everything.entries]
    assert runs == sorted(runs, reverse=True) and runs[0] == 2 and runs[-1] == 1
    price = next(e for e in feed.entries if e.title == f"price: {model_id} [{entries[0]['provider']}]")
    assert "after: in=7.0 out=9.0" in price.summary and "before: in=" in price.summary
    assert len(everything.entries) == snap.one("SELECT COUNT(*) FROM catalog_changes")


# ---- /healthz -----------------------------------------------------------------------------------------------------


def test_healthz_is_200_while_fresh_and_503_when_stale(snap):
    finished = _epoch(snap.one("SELECT finished_at FROM runs WHERE status = 'complete' ORDER BY run_id DESC"))
    with served(snap.url, clock=lambda: finished + 2 * 3600, stale_after_hours=3) as base:
        fresh = httpx.get(f"{base}/healthz")
    with served(snap.url, clock=lambda: finished + 4 * 3600, stale_after_hours=3) as base:
        stale = httpx.get(f"{base}/healthz")
    assert fresh.status_code == 200 and fresh.json()["age_hours"] == 2.0
    assert fresh.json()["last_complete_run"]["run_id"] == 1
    assert stale.status_code == 503 and stale.json()["status"] == "stale"


def test_healthz_is_503_without_a_complete_run(harness):
    h = harness(models=50, faults=[])
    h.refresh()
    h.sql("UPDATE runs SET status = 'partial'")
    with served(h.url) as base:
        answer = httpx.get(f"{base}/healthz")
    assert answer.status_code == 503 and answer.json()["last_complete_run"] is None


# ---- never a token, never a write -------------------------------------------------------------------------------


def test_no_token_is_ever_served(snap):
    model_id = sorted(snap.catalog.served_ids())[0]
    with served(snap.url) as base:
        bodies = [
            httpx.get(f"{base}{path}").content
            for path in (
                "/api/v1/models",
                f"/api/v1/models/{model_id}/endpoints",
                "/api/v1/changes?since=1",
                "/changes.atom",
                "/healthz",
            )
        ]
    assert all(TOKEN.encode() not in body and b"hf_" not in body for body in bodies)


def test_serving_writes_nothing(snap):
    def fingerprint() -> list[tuple]:
        return snap.sql(
            "SELECT (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM model_versions), "
            "(SELECT COUNT(*) FROM health_checks), (SELECT MAX(finished_at) FROM runs)"
        )

    before = fingerprint()
    with served(snap.url) as base:
        for path in ("/api/v1/models", "/api/v1/changes", "/changes.atom", "/healthz"):
            assert httpx.get(f"{base}{path}").status_code in (200, 503)
    assert fingerprint() == before


# ---- the real command ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_url() -> Iterator[str]:
    proc, url = start_fake_hub(models=300, latency_ms=0, seed=3)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _env(hub: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFSNAP_"))}
    env.update(HF_ENDPOINT=hub, HFSNAP_ROUTER_URL=hub, HF_HOME=str(tmp_path / "hfhome"), **extra)
    env["HFSNAP_CONFIG"] = str(ROOT / "config.toml")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer")


def test_hfsnap_serve_keeps_answering_while_a_refresh_commits(hub_url, tmp_path, db_url):
    env = _env(hub_url, tmp_path, HF_TOKEN="hf_serveTESTtoken")
    first = subprocess.run([sys.executable, "-m", "etl", "refresh", "--db", db_url], env=env, capture_output=True)
    assert first.returncode == 0, first.stderr
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "etl", "serve", "--db", db_url, "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    refresh = None
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz", server)
        listed = httpx.get(f"{base}/api/v1/models").json()["total_count"]
        refresh = subprocess.Popen(
            [sys.executable, "-m", "etl", "refresh", "--db", db_url],
            env={**env, "HFSNAP_PAUSE_BEFORE_COMMIT": "4"},
            stderr=subprocess.PIPE,
            text=True,
        )
        assert refresh.stderr is not None
        for line in refresh.stderr:
            if "pausing" in line:
                break
        during = [httpx.get(f"{base}{p}", timeout=5) for p in ("/healthz", "/api/v1/models", "/changes.atom")]
        assert [r.status_code for r in during] == [200, 200, 200]
        assert during[0].json()["last_complete_run"]["run_id"] == 1 and during[1].json()["total_count"] == listed
        assert refresh.wait(timeout=60) == 0
        after = httpx.get(f"{base}/healthz").json()
        assert after["last_complete_run"]["run_id"] == 2
    finally:
        if refresh and refresh.poll() is None:
            refresh.kill()
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
    assert server.returncode == 0
    assert "hf_serveTESTtoken" not in (server.stderr.read() if server.stderr else "")
