"""The httpx client for the Hub and router: Link paging, retries with backoff, rate limits, token hygiene."""

from __future__ import annotations

import itertools
import logging
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

import httpcore
import httpx
import ijson
import msgspec
import orjson

from .config import HubConfig
from .errors import CursorLoop, HubRejected, HubStatus, HubTransient, HubUnreachable
from .redaction import host_of, redact
from .wire import read_page, read_router

log = logging.getLogger("hfsnap.hub")

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PREFLIGHT_BUDGET_S = 20.0  # the whole reachability check, retries included: an unreachable Hub fails within 30 s
PREFLIGHT_ATTEMPT_S = 8.0  # one preflight attempt (or hub.timeout_s, if shorter)
BREAKER_FAILURES = 3  # consecutive connection-level failures, with...
BREAKER_SILENCE_S = 20.0  # ...no HTTP answer at all for this long: the Hub is gone, stop the run
STREAMED_SCALE = 16  # a body streamed to disk (the router list) may be this many times hub.max_response_mb
MAX_WAIT_S = 300.0  # the Hub's rate-limit windows are 5 minutes; never sleep longer than one
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_RATELIMIT_T = re.compile(r"\bt=(\d+(?:\.\d+)?)")
_RATELIMIT_R = re.compile(r"\br=(\d+)")


def resolve_token(env: Mapping[str, str] | None = None) -> str | None:
    """HF_TOKEN, else whatever huggingface_hub finds (token file, legacy variable...)."""
    import os

    environ = os.environ if env is None else env
    token = (environ.get("HF_TOKEN") or "").strip()
    if token:
        return token
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # a broken token file must not break listing, which needs no token
        return None


def describe_failure(exc: httpx.TransportError, timeout_s: float) -> str:
    """What a connection-level failure means to an operator: DNS, refused, TLS, no answer."""
    text_ = str(exc) or type(exc).__name__
    low = text_.lower()
    if isinstance(exc, httpx.TimeoutException):
        if isinstance(exc, httpx.ConnectTimeout):
            return f"timeout: no connection within {timeout_s:g}s"
        return f"timeout: no complete answer within {timeout_s:g}s"
    if any(s in low for s in ("name or service not known", "nodename nor servname", "name resolution", "getaddrinfo")):
        return f"name does not resolve ({text_})"
    if "refused" in low:
        return "connection refused"
    if "ssl" in low or "certificate" in low or "tls" in low:
        return f"TLS failure ({text_})"
    return text_


# ---- a deadline for the whole exchange of a request -----------------------------------------------
# httpx's timeouts bound each read; a server that drips one byte per read never hits them. The deadline of the
# request running on this thread clamps every connect, read and write of the connection it uses.
_deadline = threading.local()


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, with connections whose operations honour the request deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, _clamp(timeout, httpcore.ConnectTimeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout`, shortened to what is left of this thread's request deadline (raising once none is left)."""
    until: float | None = getattr(_deadline, "until", None)
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise error("request deadline passed")
    return left if timeout is None else min(timeout, left)


class Deadline:
    """`with Deadline(s):` every connection operation of this thread ends within `s` seconds from now."""

    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def __enter__(self) -> Deadline:
        self._outer = getattr(_deadline, "until", None)
        _deadline.until = self.until if self._outer is None else min(self.until, self._outer)
        return self

    def __exit__(self, *exc: object) -> None:
        _deadline.until = self._outer

    def passed(self) -> bool:
        return time.monotonic() >= self.until


def deadline_transport(limits: httpx.Limits) -> httpx.BaseTransport:
    """httpx's own transport with the deadline backend under its connection pool."""
    transport = httpx.HTTPTransport(limits=limits)
    pool = getattr(transport, "_pool", None)  # httpx offers no public hook for the network backend
    if isinstance(pool, httpcore.ConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


class Breaker:
    """Counts connection-level failures in a row across threads; trips when the Hub has gone silent."""

    def __init__(self, failures: int = BREAKER_FAILURES, silence_s: float = BREAKER_SILENCE_S) -> None:
        self.failures, self.silence_s = failures, silence_s
        self._lock = threading.Lock()
        self._row = 0
        self._last_answer = time.monotonic()
        self.tripped: str | None = None

    def answered(self) -> None:
        """Any HTTP answer, even a 5xx: the Hub is there."""
        with self._lock:
            self._row, self._last_answer = 0, time.monotonic()

    def failed(self, why: str) -> None:
        with self._lock:
            self._row += 1
            silent = time.monotonic() - self._last_answer
            if self.tripped is None and self._row >= self.failures and silent >= self.silence_s:
                self.tripped = f"{why} ({self._row} requests in a row failed, no answer for {silent:.0f}s)"


ROUTER_AT_ONCE = 48 << 20  # bytes: a router list up to this size is held whole while it is split (about 300,000 models)


@dataclass
class Page:
    """One JSON response: the decoded body (a listing's: its items as JSON text), the next URL and the URL."""

    url: str
    body: Any
    next_url: str | None
    status: int


@dataclass
class Stats:
    """Request counters shared by every thread of a run."""

    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self) -> None:
        with self.lock:
            self.requests += 1


def parse_next(link_header: str | None) -> str | None:
    """The rel="next" URL of a GitHub-style Link header."""
    if not link_header:
        return None
    match = _LINK_NEXT.search(link_header)
    return match.group(1) if match else None


def retry_wait(response: httpx.Response | None, attempt: int, rng: random.Random) -> float:
    """Seconds to wait before retry `attempt` (1-based): server hints first, else backoff with full jitter."""
    if response is not None:
        hinted = _server_hint(response)
        if hinted is not None:
            return min(MAX_WAIT_S, hinted + rng.uniform(0, 0.25))
    base = min(MAX_WAIT_S, 0.5 * 2.0 ** (attempt - 1))
    return base / 2 + rng.uniform(0, base / 2)


def _server_hint(response: httpx.Response) -> float | None:
    """Retry-After (seconds) or RateLimit `r=0;t=N`, as the Hub sends them."""
    after = response.headers.get("retry-after")
    if after:
        try:
            return max(0.0, float(after))
        except ValueError:
            pass  # an HTTP-date; fall through to the other hints
    limit = response.headers.get("ratelimit")
    if limit:
        remaining = _RATELIMIT_R.search(limit)
        reset = _RATELIMIT_T.search(limit)
        if reset and (remaining is None or int(remaining.group(1)) == 0 or response.status_code == 429):
            return float(reset.group(1)) + 1.0  # as huggingface_hub does: t+1
    return None


class HubClient:
    """Speaks HTTP to the Hub and the router; the only holder of the token."""

    def __init__(
        self,
        hub: HubConfig,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.hub = hub
        self._token = token
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._hosts = {urlsplit(hub.endpoint).netloc, urlsplit(hub.router).netloc}
        self.stats = Stats()
        self.breaker = Breaker()
        self._max_bytes = int(hub.max_response_mb * (1 << 20))
        limits = httpx.Limits(
            max_connections=max(hub.concurrency, 1) * 2, max_keepalive_connections=max(hub.concurrency, 1) * 2
        )
        self._http = httpx.Client(
            transport=transport or deadline_transport(limits),
            timeout=httpx.Timeout(hub.timeout_s),
            limits=limits,
            headers={"User-Agent": "hfsnap/0.1 (+https://github.com/hfsnap)", "Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def redact(self, text: str) -> str:
        """`text` without the token (nor URL credentials): fit for a log, an error or the database."""
        return redact(text, self._token)

    def _headers_for(self, url: str) -> dict[str, str]:
        """The token goes only to the configured Hub and router hosts."""
        if self._token and urlsplit(url).netloc in self._hosts:
            return {"Authorization": f"Bearer {self._token}"}
        return {}

    def preflight(self) -> None:
        """One cheap request before the listings; HubUnreachable within PREFLIGHT_BUDGET_S if no answer comes.

        Any HTTP answer (even a 404, 429 or 5xx) proves the Hub reachable: those get the listings' patient retries.
        """
        url = self.hub.endpoint + "/"  # HEAD of the front page: cheap, and no listing (nor a fault aimed at one)
        started = time.monotonic()
        per_attempt = min(self.hub.timeout_s, PREFLIGHT_ATTEMPT_S)  # only whole attempts: the budget is never passed
        for attempt in itertools.count(1):
            timeout = per_attempt
            self.stats.count()
            try:
                with Deadline(timeout):
                    self._http.head(url, timeout=timeout)
                self.breaker.answered()
                return
            except httpx.TransportError as exc:
                cause = redact(describe_failure(exc, timeout), self._token)
            wait = min(2.0, 0.5 * attempt)
            if attempt >= 3 or time.monotonic() - started + wait + per_attempt > PREFLIGHT_BUDGET_S:
                raise HubUnreachable(
                    f"cannot reach the Hub at {host_of(url)}: {cause} "
                    f"({attempt} attempts in {time.monotonic() - started:.0f}s; check hub.endpoint / HF_ENDPOINT)"
                )
            log.debug("Hub preflight %d failed (%s); retrying in %.1fs", attempt, cause, wait)
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - itertools.count never ends

    def get_json(self, url: str, params: Any = None, expect: type | None = None) -> Page:
        """GET a JSON document with retries; a body that is not JSON (or not `expect`) is retried like a 5xx."""
        return self._request("GET", url, params=params, expect=expect)

    def _request(
        self,
        method: str,
        url: str,
        params: Any = None,
        json_body: Any = None,
        expect: type | None = None,
        sink: IO[bytes] | None = None,
    ) -> Page:
        """One request with retries. With a `sink`, the body is streamed into it instead of decoded."""
        attempts = self.hub.max_retries + 1
        last: str = ""
        for attempt in range(1, attempts + 1):
            if self.breaker.tripped:
                raise HubUnreachable(f"the Hub stopped answering: {self.breaker.tripped}")
            response: httpx.Response | None = None
            deadline = Deadline(self.hub.request_deadline_s)
            try:
                self.stats.count()
                with (
                    deadline,
                    self._http.stream(
                        method, url, params=params, json=json_body, headers=self._headers_for(url)
                    ) as response,
                ):
                    self.breaker.answered()
                    if response.status_code in RETRY_STATUSES:
                        last = f"HTTP {response.status_code} from {self._where(response.url)}"
                    elif response.status_code in REDIRECTS:
                        target = response.headers.get("location") or "?"
                        raise HubRejected(
                            f"HTTP {response.status_code} redirect from {self._where(response.url)} to "
                            f"{self._where(target)} refused: set hub.endpoint / hub.router to the final URL"
                        )
                    elif response.status_code >= 400:
                        detail = self._error_text(response, self._read_limited(response, deadline))
                        raise HubStatus(
                            f"HTTP {response.status_code} from {self._where(response.url)}: {detail}",
                            response.status_code,
                            detail,
                        )
                    elif sink is not None:
                        sink.seek(0)
                        sink.truncate()
                        for chunk in self._limited_chunks(response, deadline, STREAMED_SCALE):
                            sink.write(chunk)
                        sink.seek(0)
                        return Page(
                            str(response.url), None, parse_next(response.headers.get("link")), response.status_code
                        )
                    else:
                        body, problem = self._decode(response, self._read_limited(response, deadline), expect)
                        if problem is None:
                            return Page(
                                str(response.url), body, parse_next(response.headers.get("link")), response.status_code
                            )
                        last = problem
            except httpx.TimeoutException as exc:
                limit = self.hub.request_deadline_s if deadline.passed() else self.hub.timeout_s
                last = f"{describe_failure(exc, limit)} from {self._where(url)}"
                self.breaker.failed(f"{host_of(url)}: {describe_failure(exc, limit)}")
            except httpx.TransportError as exc:
                cause = redact(describe_failure(exc, self.hub.timeout_s), self._token)
                last = f"cannot reach {self._where(url)}: {cause}"
                self.breaker.failed(f"{host_of(url)}: {cause}")
            if self.breaker.tripped:
                raise HubUnreachable(f"the Hub stopped answering: {self.breaker.tripped}")
            if attempt < attempts:
                wait = retry_wait(response, attempt, self._rng)
                log.info("retry %d/%d in %.1fs: %s", attempt, attempts - 1, wait, last)
                self._sleep(wait)
        raise HubTransient(f"{last} (gave up after {attempts} attempts)")

    def _limited_chunks(self, response: httpx.Response, deadline: Deadline, scale: int = 1) -> Iterator[bytes]:
        """The body in chunks, refusing more than hub.max_response_mb (x scale) and ending by the request deadline."""
        limit = self._max_bytes * scale
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise HubRejected(self._too_big(response, scale))
        total = 0
        for chunk in response.iter_bytes(1 << 16):
            total += len(chunk)
            if total > limit:
                raise HubRejected(self._too_big(response, scale))
            if deadline.passed():
                raise httpx.ReadTimeout("request deadline passed")
            yield chunk

    def _read_limited(self, response: httpx.Response, deadline: Deadline) -> bytes:
        """The whole body, within the size limit and the deadline."""
        return b"".join(self._limited_chunks(response, deadline))

    def _too_big(self, response: httpx.Response, scale: int) -> str:
        limit = f"{scale} x hub.max_response_mb" if scale > 1 else "hub.max_response_mb"
        return f"response from {self._where(response.url)} exceeds {limit} = {self.hub.max_response_mb * scale:g} MB"

    def _decode(self, response: httpx.Response, content: bytes, expect: type | None) -> tuple[Any, str | None]:
        """The JSON body, or why it is not the document the API promises.

        A list (`expect=list`: a listing page) is checked whole but its items stay JSON text (msgspec.Raw): each is
        read once, by records.Parser, which builds only what it needs of it.
        """
        if expect is list:
            try:
                return read_page(content), None
            except msgspec.ValidationError:  # JSON, but not a list
                return None, f"malformed page from {self._where(response.url)}: expected a JSON list"
            except msgspec.DecodeError:
                return None, f"malformed JSON from {self._where(response.url)} ({len(content)} bytes)"
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            return None, f"malformed JSON from {self._where(response.url)} ({len(content)} bytes)"
        if expect is not None and not isinstance(body, expect):
            return None, f"malformed page from {self._where(response.url)}: expected a JSON {expect.__name__}"
        return body, None

    def _where(self, url: httpx.URL | str) -> str:
        """The URL without its query or credentials, for messages (a cursor is noise, a secret must never appear)."""
        parts = urlsplit(str(url))
        return redact(f"{parts.scheme}://{host_of(str(url))}{parts.path}", self._token)

    def _error_text(self, response: httpx.Response, content: bytes) -> str:
        text = response.headers.get("x-error-message") or ""
        if not text:
            try:
                body = orjson.loads(content)
                text = str(body.get("error") or body.get("error_description") or "") if isinstance(body, dict) else ""
            except orjson.JSONDecodeError:
                text = content[:200].decode(errors="replace")
        return redact(text.strip()[:300] or response.reason_phrase, self._token)

    def iter_pages(self, path: str, params: list[tuple[str, str]], max_pages: int = 100_000) -> Iterator[Page]:
        """Follow Link rel=next from `path`; stop on a repeated URL (a looping cursor) with HubRejected."""
        url: str | None = self.hub.endpoint + path
        query: Any = params
        seen: set[str] = set()
        pages = 0
        while url is not None:
            page = self.get_json(url, params=query, expect=list)
            yield page
            pages += 1
            query = None  # the next link repeats every parameter itself
            nxt = page.next_url
            if nxt is None:
                return
            if urlsplit(nxt).netloc not in self._hosts:
                raise HubRejected(f"next link leaves the configured hosts: {self._where(nxt)}")
            if nxt in seen or nxt == page.url:
                raise CursorLoop(f"cursor loop: the next link repeats an earlier page (after {pages} pages)")
            if pages >= max_pages:
                raise HubRejected(f"more than {max_pages} pages: giving up on a listing that does not end")
            seen.add(nxt)
            url = nxt

    def router_models(self) -> Iterator[Any]:
        """GET {router}/v1/models -> its `data` entries, each as JSON text (msgspec.Raw) for records.parse_offers.

        A list of up to ROUTER_AT_ONCE bytes is checked and split at once, fast; a longer one (the list grows with
        the catalog) is parsed as it is read, each entry a dict, so memory stays bounded.
        """
        url = self.hub.router + "/v1/models"
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as body:
            self._request("GET", url, sink=body)
            size = body.seek(0, 2)
            body.seek(0)
            if size <= ROUTER_AT_ONCE:
                yield from self._router_at_once(body.read(), url)
                return
            count = 0
            try:
                for entry in ijson.items(body, "data.item", use_float=True):
                    count += 1
                    yield entry
            except ijson.JSONError as exc:
                raise HubRejected(f"malformed JSON from {self._where(url)} after {count} entries: {exc}") from None
            if count == 0:
                body.seek(0)
                if b'"data"' not in body.read(1 << 16):
                    raise HubRejected(f"{self._where(url)}: expected an object with a 'data' list")

    def _router_at_once(self, content: bytes, url: str) -> list[msgspec.Raw]:
        try:
            return read_router(content).data
        except msgspec.ValidationError:
            raise HubRejected(f"{self._where(url)}: expected an object with a 'data' list") from None
        except msgspec.DecodeError as exc:
            raise HubRejected(f"malformed JSON from {self._where(url)} after 0 entries: {exc}") from None

    def chat_probe(self, model: str, provider: str, timeout_s: float) -> httpx.Response:
        """One billed, one-token chat completion through the router; no retries (the outcome is the datum)."""
        url = self.hub.router + "/v1/chat/completions"
        body = {
            "model": f"{model}:{provider}",
            "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 1,
            "stream": False,
        }
        self.stats.count()
        with Deadline(timeout_s):  # the whole probe, not each read: a dripping answer is a timeout too
            return self._http.post(url, json=body, headers=self._headers_for(url), timeout=timeout_s)
