"""The HTTP client against the fake hub's fault switches: retries, rate limits, bad bodies, loops, token hygiene."""

from __future__ import annotations

import json

import httpx
import pytest

from etl import hub
from etl.config import HubConfig
from etl.errors import CursorLoop, HubRejected, HubStatus, HubTransient, RejectItem
from etl.fakehub import generate_catalog, make_app, parse_fault
from etl.hub import HubClient, parse_next, retry_wait
from etl.records import Offer, parse_offers
from etl.wire import as_dict

BASE = "http://hub.test"
PARAMS = [("inference_provider", "all"), ("limit", "50")]


@pytest.fixture
def app():
    app = make_app(generate_catalog(200, seed=3))
    yield app
    app.close()


def client(app, sleeps: list[float], retries: int = 3, token: str | None = "hf_abc") -> HubClient:
    hub = HubConfig(endpoint=BASE, router=BASE, max_retries=retries, timeout_s=5)
    return HubClient(hub, token=token, transport=httpx.WSGITransport(app=app), sleep=sleeps.append, seed=1)


def pages(c: HubClient) -> list:
    return list(c.iter_pages("/api/models", PARAMS))


def test_follows_link_to_the_end(app):
    # A page's items come as JSON text, each read once by records.Parser.
    got = [as_dict(item)["id"] for page in pages(client(app, [])) for item in page.body]
    assert len(got) == len(set(got)) == len(app.catalog.served_ids())


def test_429_retry_after_is_honoured(app):
    sleeps: list[float] = []
    app.faults.append(parse_fault("ratelimit:style=retry-after,reset=7,times=2"))
    assert pages(client(app, sleeps))
    assert len(sleeps) == 2 and all(7 <= s < 7.3 for s in sleeps)


def test_ratelimit_header_waits_t_plus_one(app):
    sleeps: list[float] = []
    app.faults.append(parse_fault("ratelimit:style=ratelimit,reset=4,times=1"))
    assert pages(client(app, sleeps))
    assert len(sleeps) == 1 and 5 <= sleeps[0] < 5.3


def test_burst_of_5xx_then_success_backs_off_exponentially(app):
    sleeps: list[float] = []
    app.faults.append(parse_fault("status:code=503,times=3"))
    assert pages(client(app, sleeps, retries=4))
    assert len(sleeps) == 3 and sleeps[0] <= 0.5 and sleeps[2] >= 1.0  # 0.5, 1, 2 s bases with jitter


def test_gives_up_after_max_retries(app):
    sleeps: list[float] = []
    app.faults.append(parse_fault("status:code=502,times=0"))
    with pytest.raises(HubTransient, match="HTTP 502.*3 attempts"):
        pages(client(app, sleeps, retries=2))


def test_truncated_json_is_retried(app):
    sleeps: list[float] = []
    app.faults.append(parse_fault("truncate:times=1"))
    assert pages(client(app, sleeps))
    assert len(sleeps) == 1


def test_cursor_loop_is_stopped(app):
    app.faults.append(parse_fault("loop:times=0"))
    with pytest.raises(CursorLoop, match="cursor loop"):  # typed: extraction tells a loop from a cap by its type
        pages(client(app, []))


def test_400_is_not_retried(app):
    sleeps: list[float] = []
    c = client(app, sleeps)
    with pytest.raises(HubStatus, match="HTTP 400") as caught:
        list(c.iter_pages("/api/models", [("sort", "trending")]))
    assert sleeps == [] and caught.value.status == 400 and "trending" in caught.value.detail


def test_token_goes_only_to_configured_hosts():
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers.get("authorization")
        return httpx.Response(200, json=[])

    hub = HubConfig(endpoint="http://hub.test", router="http://router.test")
    c = HubClient(hub, token="hf_secret", transport=httpx.MockTransport(handler))
    c.get_json("http://hub.test/api/models")
    c.get_json("http://elsewhere.test/api/models")
    assert seen == {"hub.test": "Bearer hf_secret", "elsewhere.test": None}


def test_next_link_to_another_host_is_refused():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json=[{"id": "a/b"}], headers={"Link": '<http://evil.test/api/models?cursor=x>; rel="next"'}
        )

    c = HubClient(
        HubConfig(endpoint="http://hub.test", router="http://hub.test"),
        token="hf_secret",
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(HubRejected, match="leaves the configured hosts"):
        list(c.iter_pages("/api/models", []))


def test_parse_next_and_backoff_bounds():
    assert parse_next('<https://h/api/models?cursor=a>; rel="next"') == "https://h/api/models?cursor=a"
    assert parse_next(None) is None and parse_next('<x>; rel="prev"') is None
    import random

    rng = random.Random(0)
    waits = [retry_wait(None, attempt, rng) for attempt in range(1, 12)]
    assert all(0 < w <= 300 for w in waits) and waits[-1] >= 150


ROUTER_ENTRIES = [
    {
        "id": "acme/a",
        "providers": [
            {
                "provider": "groq",
                "status": "live",
                "context_length": 8192,
                "pricing": {"input": 0.1, "output": 0.2},
                "supports_tools": True,
            }
        ],
    },
    {
        "id": "acme/b",
        "providers": [
            {"provider": "z", "pricing": "free"},
            {"provider": "y", "context_length": "long", "is_model_author": 0, "supports_structured_output": None},
        ],
    },
    {"id": "acme/c", "providers": {"groq": {}}},
    {"id": "acme/d", "providers": [{"status": "live"}]},
    {"id": 7, "providers": []},
    "not an entry",
    {"id": "acme/e", "providers": None, "extra": {"deep": [1, 2.5, None]}},
    {"id": "acme/f", "providers": [{"provider": "p", "pricing": {"input": 1e30, "output": True}}]},
    {"id": "acme/g", "providers": ["groq"]},
]


def _router_reads(monkeypatch, at_once: int) -> list[object]:
    """Every entry of one router list through parse_offers, as (model id, offers) or the reject's reason."""
    body = json.dumps({"object": "list", "data": ROUTER_ENTRIES}).encode()
    monkeypatch.setattr(hub, "ROUTER_AT_ONCE", at_once)
    c = HubClient(HubConfig(), transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)))
    out: list[object] = []
    for entry in c.router_models():
        try:
            out.append(parse_offers(entry))
        except RejectItem as exc:
            out.append(str(exc))
    return out


def test_a_router_list_read_at_once_gives_what_the_streamed_read_gives(monkeypatch):
    """Up to hub.ROUTER_AT_ONCE bytes the list is split at once and read into typed structs (fast); a longer one
    streams (bounded memory). Both give the same offers and the same reasons for every shape of entry."""
    at_once, streamed = _router_reads(monkeypatch, 1 << 20), _router_reads(monkeypatch, 0)
    assert at_once == streamed
    assert at_once[0] == ("acme/a", (Offer("groq", "live", 8192, 0.1, 0.2, 1, None, None),))
    assert sum(isinstance(r, str) for r in at_once) == 5  # c, d, 7, the string and g: rejected, the rest read


@pytest.mark.parametrize(
    ("body", "message"),
    [(b'{"object": "list"}', "expected an object with a 'data' list"), (b'{"data": [{"id": "a/b"}', "malformed JSON")],
)
def test_a_router_list_read_at_once_that_is_not_one_is_refused(body, message):
    c = HubClient(HubConfig(), transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body)))
    with pytest.raises(HubRejected, match=message):
        list(c.router_models())
