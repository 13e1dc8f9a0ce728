"""FakeHubApp: the WSGI app emulating the Hub API and router (routing, paging, rate-limit headers, faults)."""

from __future__ import annotations

import math
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from . import listing, router, shapes, vocab
from .catalog import Catalog
from .faults import Fault
from .reply import Reply, error_reply, json_reply
from .stats import Stats

MODES = ("cursor", "capped")
RATE_POLICY = '"fixed window";"api";q={q};w={w}'
StartResponse = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class _Request:
    """What the routes read of one WSGI request."""

    method: str
    path: str
    raw_query: str
    pairs: list[tuple[str, str]]
    body: bytes
    environ: dict[str, Any]


class FakeHubApp:
    """WSGI callable serving a Catalog like huggingface.co + router.huggingface.co (see docs/fakehub-interface.md).

    Mutable knobs tests may change between requests: `mode`, `page_max`, `latency_ms`, `faults`, `token`,
    `hang_s` (seconds a `hang` pair blocks), `retry_after_s` (router 429), `rate_quota`/`rate_window_s`,
    `removed_providers` (a listing naming one answers 400 "unknown provider", as for a provider the Hub dropped).
    """

    def __init__(
        self,
        catalog: Catalog,
        mode: str = "cursor",
        page_max: int = 1000,
        latency_ms: int = 0,
        faults: Iterable[Fault] = (),
        token: str | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if page_max < 1:
            raise ValueError("page_max must be >= 1")
        self.catalog = catalog
        self.mode = mode
        self.page_max = page_max
        self.latency_ms = latency_ms
        self.faults: list[Fault] = list(faults)
        self.token = token
        self.stats = Stats()
        self.hang_s = router.HANG_SECONDS
        self.retry_after_s = 1
        self.rate_quota = 10_000
        self.rate_window_s = 300
        self.removed_providers: set[str] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # fault counters and the rate window
        self._window_start = time.monotonic()
        self._window_used = 0
        self._listings = listing.ListingCache()
        self._router_models = router.ModelsPayload()

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Wake every sleeping request (hang, slow, latency) so servers and tests can finish promptly."""
        self._stop.set()

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        raw_query = environ.get("QUERY_STRING", "")
        self.stats.record(path, raw_query)
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        body = _read_body(environ) if method == "POST" else b""
        is_listing = method == "GET" and path.rstrip("/") == "/api/models"
        fired = self._fire_faults(path, is_listing, _request_providers(pairs, path, body))
        rate = self._rate_headers()

        reply = self._early_fault(fired)
        if reply is None:
            if self.latency_ms:
                self._stop.wait(self.latency_ms / 1000)
            reply = self._route(_Request(method, path, raw_query, pairs, body, environ), fired)
        if any(f.kind == "truncate" for f in fired):
            reply.body = reply.body[: len(reply.body) // 2]  # a 200 whose JSON stops mid-way
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(reply.body)))]
        names = {k.lower() for k, _ in reply.headers}
        headers += [h for h in rate if h[0].lower() not in names] + reply.headers
        start_response(reply.status_line, headers)
        return [reply.body]

    # ------------------------------------------------------------------ faults and rate limits
    def _fire_faults(self, path: str, is_listing: bool, providers: frozenset[str]) -> list[Fault]:
        with self._lock:
            return [f for f in self.faults if f.matches(path, is_listing, providers) and f.take()]

    def _early_fault(self, fired: list[Fault]) -> Reply | None:
        """Faults answering instead of the route: slow (then continue), status, ratelimit."""
        for f in fired:
            if f.kind == "slow":
                self._stop.wait(f.ms / 1000)
        for f in fired:
            if f.kind == "status":
                return error_reply(f.code, f"Injected fault: HTTP {f.code}")
            if f.kind == "ratelimit":
                if f.style == "retry-after":
                    headers = [("Retry-After", str(f.reset))]
                else:
                    headers = [
                        ("RateLimit", f'"api";r=0;t={f.reset}'),
                        ("RateLimit-Policy", RATE_POLICY.format(q=self.rate_quota, w=self.rate_window_s)),
                    ]
                return error_reply(429, "You have been rate-limited; you can retry this action later.", headers)
        return None

    def _rate_headers(self) -> list[tuple[str, str]]:
        """IETF-draft RateLimit headers from a fixed window that counts requests (reported, never enforced)."""
        now = time.monotonic()
        with self._lock:
            if now - self._window_start >= self.rate_window_s:
                self._window_start, self._window_used = now, 0
            self._window_used += 1
            remaining = max(0, self.rate_quota - self._window_used)
            reset = max(1, math.ceil(self._window_start + self.rate_window_s - now))
        return [
            ("RateLimit", f'"api";r={remaining};t={reset}'),
            ("RateLimit-Policy", RATE_POLICY.format(q=self.rate_quota, w=self.rate_window_s)),
        ]

    # ------------------------------------------------------------------ routing
    def _route(self, request: _Request, fired: list[Fault]) -> Reply:
        method, path, pairs, body, environ = request.method, request.path, request.pairs, request.body, request.environ
        try:
            if method == "GET":
                if path.rstrip("/") == "/api/models":
                    return self._list_models(request, fired)
                if path.startswith("/api/models/"):
                    return self._model_info(path[len("/api/models/") :], pairs)
                if path == "/api/whoami-v2":
                    return self._whoami(environ)
                if path.rstrip("/") == "/v1/models":
                    return Reply(200, self._router_models.get(self.catalog))
                if path.startswith("/v1/models/"):
                    return self._router_model(path[len("/v1/models/") :])
            elif method == "POST" and path.rstrip("/") == "/v1/chat/completions":
                if not self._authorized(environ):
                    return error_reply(401, "Invalid credentials in Authorization header")
                return router.chat_completion(self.catalog, body, self._stop, self.hang_s, self.retry_after_s)
        except listing.BadRequest as exc:
            return error_reply(400, str(exc))
        return error_reply(404, "Sorry, we can't find the page you are looking for.")

    def _list_models(self, request: _Request, fired: list[Fault]) -> Reply:
        pairs, raw_query, environ = request.pairs, request.raw_query, request.environ
        req = listing.parse(pairs, self.page_max)
        q = req.query
        removed = sorted(q.providers & self.removed_providers)
        if removed:
            raise listing.BadRequest(f"Invalid inference_provider: unknown provider '{removed[0]}'")
        ids = self._listings.get(self.catalog, q)
        start = listing.resume(self.catalog, ids, q.sort, req.cursor) if req.cursor else 0
        end = len(ids)
        if self.mode == "capped" and q.filtered:
            end = min(end, listing.CAP_TOTAL)  # filtered listings stop at 1000 in total, no next link
        stop = min(start + req.limit, end)
        page_ids = ids[start:stop] if start < end else []
        if any(f.kind == "stale" for f in fired):  # a server serving the same models again under a new cursor
            page_ids = ids[: len(page_ids)]
        models = self.catalog.models

        for f in fired:
            if f.kind == "shrink":  # drop a deterministic share of the listing (by id hash)
                cut = f.ratio * 2**32
                page_ids = [m for m in page_ids if zlib.crc32(m.encode()) >= cut]
        # .get: tests may mutate the catalog from another thread while this page is being built.
        items = [shapes.listing_item(item, req.view) for item in map(models.get, page_ids) if item is not None]
        for f in fired:
            if f.kind == "malformed":
                for k in range(min(f.count, len(items))):
                    items[k] = shapes.malformed(items[k], k)
            elif f.kind == "oldshape":
                for k in range(min(f.count, len(items))):
                    items[k] = shapes.old_shape(items[k])
            elif f.kind == "drift":
                items = [shapes.drifted(item) for item in items]

        headers: list[tuple[str, str]] = []
        if any(f.kind == "loop" for f in fired):
            headers.append(("Link", f'<{_base_url(environ)}{_with_query(raw_query)}>; rel="next"'))
        elif stop < end:
            last = models.get(ids[stop - 1]) or {}
            cursor = listing.encode_cursor(stop, q.sort, last.get(q.sort), str(last.get("_id", "")))
            params = [p for p in raw_query.split("&") if p and not p.startswith("cursor=")]
            if not req.sort_given:
                params.append(f"sort={q.sort}")  # the Hub's next links spell out the default sort
            params.append(f"cursor={cursor}")
            headers.append(("Link", f'<{_base_url(environ)}?{"&".join(params)}>; rel="next"'))
        return Reply(200, orjson.dumps(items), headers)

    def _model_info(self, rest: str, pairs: list[tuple[str, str]]) -> Reply:
        parts = rest.strip("/").split("/")
        if len(parts) >= 4 and parts[2] == "revision":
            parts = parts[:2]  # revisions are not modelled: every revision is the current one
        mid = "/".join(parts)
        item = self.catalog.models.get(mid) if len(parts) <= 2 else None
        if item is None or item.get("private"):
            message = "Repository not found"
            return error_reply(404, message, [("X-Error-Code", "RepoNotFound"), ("X-Error-Message", message)])
        expand: list[str] = []
        for key, value in pairs:
            if key in ("expand", "expand[]"):
                if value not in vocab.EXPAND_KEYS:
                    raise listing.BadRequest(f"Invalid expand parameter {value!r}")
                expand.append(value)
        return json_reply(200, shapes.model_info(item, tuple(expand)))

    def _router_model(self, mid: str) -> Reply:
        entries = self.catalog.router.get(mid.strip("/"))
        if entries is None:
            return error_reply(404, f"Model {mid} not found")
        return json_reply(200, router.model_entry(self.catalog, mid.strip("/"), entries))

    def _authorized(self, environ: dict[str, Any]) -> bool:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not token.startswith("hf_"):
            return False
        return self.token is None or token == self.token

    def _whoami(self, environ: dict[str, Any]) -> Reply:
        if not self._authorized(environ):
            message = "Invalid credentials in Authorization header"
            return error_reply(401, message, [("X-Error-Message", message)])
        return json_reply(200, _WHOAMI)


def make_app(
    catalog: Catalog,
    mode: str = "cursor",
    page_max: int = 1000,
    latency_ms: int = 0,
    faults: Iterable[Fault] = (),
    token: str | None = None,
) -> FakeHubApp:
    """Build the WSGI app serving `catalog` (see FakeHubApp)."""
    return FakeHubApp(catalog, mode=mode, page_max=page_max, latency_ms=latency_ms, faults=faults, token=token)


# ---------------------------------------------------------------------------------------------- helpers
def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _request_providers(pairs: list[tuple[str, str]], path: str, body: bytes) -> frozenset[str]:
    """Providers a request is about: inference_provider values, or the `:provider` of a chat model."""
    found = {v.strip() for k, raw in pairs if k == "inference_provider" for v in raw.split(",") if v.strip()}
    if body and path.startswith("/v1/"):
        try:
            model = orjson.loads(body).get("model", "")
        except (orjson.JSONDecodeError, AttributeError):
            model = ""
        if isinstance(model, str) and ":" in model:
            found.add(model.rpartition(":")[2])
    return frozenset(found)


def _base_url(environ: dict[str, Any]) -> str:
    """Absolute URL of the request path from its Host header (huggingface_hub cannot follow relative links)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        port = str(environ.get("SERVER_PORT", ""))
        default = (scheme == "http" and port == "80") or (scheme == "https" and port == "443")
        host = environ.get("SERVER_NAME", "localhost") + ("" if default or not port else f":{port}")
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"


def _with_query(raw_query: str) -> str:
    return f"?{raw_query}" if raw_query else ""


_WHOAMI: dict[str, Any] = {
    "type": "user",
    "id": "64f0c0ffee0000000000cafe",
    "name": "fake-user",
    "fullname": "Fake User",
    "email": "fake-user@example.invalid",
    "emailVerified": True,
    "canPay": False,
    "isPro": False,
    "periodEnd": None,
    "avatarUrl": "/avatars/fake-user.svg",
    "billingMode": "postpaid",
    "orgs": [],
    "auth": {
        "type": "access_token",
        "accessToken": {
            "displayName": "hfsnap-fake",
            "role": "fineGrained",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "fineGrained": {
                "global": ["inference.serverless.write", "discussion.write"],
                "scoped": [
                    {
                        "entity": {"type": "user", "name": "fake-user", "_id": "64f0c0ffee0000000000cafe"},
                        "permissions": ["repo.content.read"],
                    }
                ],
                "canReadGatedRepos": True,
            },
        },
    },
}
