"""The httpx client for the Hub and router: Link paging, retries with backoff, rate limits, token hygiene."""

from __future__ import annotations

import logging
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import ijson
import orjson

from .config import HubConfig
from .errors import CursorLoop, HubRejected, HubTransient

log = logging.getLogger("hfsnap.hub")

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_WAIT_S = 300.0  # the Hub's rate-limit windows are 5 minutes; never sleep longer than one
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_RATELIMIT_T = re.compile(r"\bt=(\d+(?:\.\d+)?)")
_RATELIMIT_R = re.compile(r"\br=(\d+)")


def resolve_token(env: dict[str, str] | None = None) -> str | None:
    """HF_TOKEN, else whatever huggingface_hub finds (token file, legacy variable...)."""
    import os

    env = os.environ if env is None else env
    token = (env.get("HF_TOKEN") or "").strip()
    if token:
        return token
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # a broken token file must not break listing, which needs no token
        return None


def redact(text: str, token: str | None) -> str:
    """Remove the token from any text that may reach a log, an error or the database."""
    if token and token in text:
        text = text.replace(token, "***")
    return text


@dataclass
class Page:
    """One JSON response: the decoded body, the next URL (if any) and the request's URL."""

    url: str
    body: Any
    next_url: str | None
    status: int


@dataclass
class Stats:
    """Request counters shared by every thread of a run."""

    requests: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, retry: bool = False) -> None:
        with self.lock:
            self.requests += 1
            self.retries += int(retry)


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
    base = min(MAX_WAIT_S, 0.5 * 2 ** (attempt - 1))
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
        limits = httpx.Limits(
            max_connections=max(hub.concurrency, 1) * 2, max_keepalive_connections=max(hub.concurrency, 1) * 2
        )
        self._http = httpx.Client(
            transport=transport,
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

    def _headers_for(self, url: str) -> dict[str, str]:
        """The token goes only to the configured Hub and router hosts."""
        if self._token and urlsplit(url).netloc in self._hosts:
            return {"Authorization": f"Bearer {self._token}"}
        return {}

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
            response: httpx.Response | None = None
            try:
                self.stats.count(retry=attempt > 1)
                with self._http.stream(
                    method, url, params=params, json=json_body, headers=self._headers_for(url)
                ) as response:
                    if response.status_code in RETRY_STATUSES:
                        last = f"HTTP {response.status_code} from {self._where(response.url)}"
                    elif response.status_code >= 400:
                        response.read()
                        raise HubRejected(
                            f"HTTP {response.status_code} from {self._where(response.url)}: {self._error_text(response)}"
                        )
                    elif sink is not None:
                        sink.seek(0)
                        sink.truncate()
                        for chunk in response.iter_bytes(1 << 16):
                            sink.write(chunk)
                        sink.seek(0)
                        return Page(
                            str(response.url), None, parse_next(response.headers.get("link")), response.status_code
                        )
                    else:
                        response.read()
                        body, problem = self._decode(response, expect)
                        if problem is None:
                            return Page(
                                str(response.url), body, parse_next(response.headers.get("link")), response.status_code
                            )
                        last = problem
            except httpx.TimeoutException:
                last = f"timeout after {self.hub.timeout_s:g}s from {self._where(url)}"
            except httpx.TransportError as exc:
                last = f"cannot reach {self._where(url)}: {redact(str(exc) or type(exc).__name__, self._token)}"
            if attempt < attempts:
                wait = retry_wait(response, attempt, self._rng)
                log.info("retry %d/%d in %.1fs: %s", attempt, attempts - 1, wait, last)
                self._sleep(wait)
        raise HubTransient(f"{last} (gave up after {attempts} attempts)")

    def _decode(self, response: httpx.Response, expect: type | None) -> tuple[Any, str | None]:
        """The JSON body, or why it is not the document the API promises."""
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return None, f"malformed JSON from {self._where(response.url)} ({len(response.content)} bytes)"
        if expect is not None and not isinstance(body, expect):
            return None, f"malformed page from {self._where(response.url)}: expected a JSON {expect.__name__}"
        return body, None

    def _where(self, url: httpx.URL | str) -> str:
        """The URL without its query, for messages (a cursor is noise, a token must never appear)."""
        parts = urlsplit(str(url))
        return redact(f"{parts.scheme}://{parts.netloc}{parts.path}", self._token)

    def _error_text(self, response: httpx.Response) -> str:
        text = response.headers.get("x-error-message") or ""
        if not text:
            try:
                body = orjson.loads(response.content)
                text = str(body.get("error") or body.get("error_description") or "") if isinstance(body, dict) else ""
            except orjson.JSONDecodeError:
                text = response.text[:200]
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
        """GET {router}/v1/models -> its `data` entries, parsed as they are read (the list grows with the catalog)."""
        url = self.hub.router + "/v1/models"
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as body:
            self._request("GET", url, sink=body)  # type: ignore[arg-type]
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
        return self._http.post(url, json=body, headers=self._headers_for(url), timeout=timeout_s)
