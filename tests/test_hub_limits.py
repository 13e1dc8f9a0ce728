"""The client's limits: redirects refused, response size, credentials in URLs, preflight, the mid-run breaker."""

from __future__ import annotations

import socket

import httpx
import pytest

from etl.config import HubConfig
from etl.errors import HubRejected, HubTransient, HubUnreachable
from etl.hub import Breaker, HubClient
from etl.redaction import redact, url_for_log

BASE = "http://hub.test"


def _client(handler, sleeps: list[float] | None = None, **hub_kw) -> HubClient:
    hub = HubConfig(endpoint=hub_kw.pop("endpoint", BASE), router=BASE, max_retries=2, timeout_s=5, **hub_kw)
    return HubClient(
        hub,
        token="hf_secret",
        transport=httpx.MockTransport(handler),
        sleep=(sleeps if sleeps is not None else []).append,
    )


def test_a_redirect_is_refused_with_its_own_message_and_not_retried():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/api/models?x=1"})

    with pytest.raises(HubRejected) as caught:
        _client(handler).get_json(BASE + "/api/models", expect=list)
    assert str(caught.value) == (
        "HTTP 302 redirect from http://hub.test/api/models to https://elsewhere.example/api/models refused: "
        "set hub.endpoint / hub.router to the final URL"
    )
    assert len(calls) == 1


@pytest.mark.parametrize("declared", [True, False])
def test_a_response_over_the_size_limit_is_refused(declared: bool):
    body = b"[" + b" " * (3 << 20) + b"]"  # 3 MB of valid JSON

    def handler(request: httpx.Request) -> httpx.Response:
        if declared:
            return httpx.Response(200, content=body)
        return httpx.Response(200, stream=httpx.ByteStream(body))  # no Content-Length: counted as it streams

    calls = []
    with pytest.raises(HubRejected, match=r"exceeds hub.max_response_mb = 2 MB$"):
        _client(lambda r: calls.append(1) or handler(r), max_response_mb=2).get_json(BASE + "/api/models")
    assert len(calls) == 1
    assert _client(handler, max_response_mb=4).get_json(BASE + "/api/models").body == []


def test_credentials_in_the_endpoint_never_reach_a_message():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hub = HubConfig(endpoint=f"http://hfuser:pa55@127.0.0.1:{port}", router=BASE, max_retries=0, timeout_s=2)
    with HubClient(hub, sleep=lambda _s: None) as c, pytest.raises(HubUnreachable) as caught:
        c.preflight()
    assert str(caught.value).startswith(f"cannot reach the Hub at 127.0.0.1:{port}: connection refused")
    assert "pa55" not in str(caught.value) and "hfuser" not in str(caught.value)


def test_redaction_helpers():
    text = "GET https://u:p4ss@host/x and postgresql://me:pw@db/x and https://tok@h/ and hf_secret"
    assert (
        redact(text, "hf_secret") == "GET https://u:***@host/x and postgresql://me:***@db/x and https://***@h/ and ***"
    )
    assert url_for_log("https://hc-ping.com/5f2e-uuid?k=1") == "https://hc-ping.com/***"
    assert url_for_log("http://a:b@127.0.0.1:9") == "http://127.0.0.1:9"


def test_preflight_accepts_any_http_answer():
    for status in (200, 404, 503):
        _client(lambda r, s=status: httpx.Response(s)).preflight()


def test_breaker_trips_only_after_failures_in_a_row_and_silence():
    breaker = Breaker(failures=3, silence_s=0.0)
    breaker.failed("x")
    breaker.failed("x")
    breaker.answered()  # a 503 is an answer: rate limits and 5xx keep their patient retries
    breaker.failed("x")
    breaker.failed("x")
    assert breaker.tripped is None
    breaker.failed("host: connection refused")
    assert breaker.tripped is not None and breaker.tripped.startswith("host: connection refused (3 requests in a row")
    assert Breaker(failures=1, silence_s=3600).tripped is None


def test_5xx_keeps_patient_retries_without_tripping():
    sleeps: list[float] = []
    c = _client(lambda r: httpx.Response(503), sleeps)
    c.breaker = Breaker(failures=1, silence_s=0.0)
    with pytest.raises(HubTransient, match="HTTP 503"):
        c.get_json(BASE + "/api/models")
    assert len(sleeps) == 2 and c.breaker.tripped is None
