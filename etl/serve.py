"""`hfsnap serve`: a read-only HTTP API over the snapshot (OpenRouter's model list, a change feed, /healthz)."""

from __future__ import annotations

import logging
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import openrouter, queries
from .config import ServeConfig
from .errors import UsageError
from .listcache import CurrentList
from .stamps import parse_stamp

log = logging.getLogger("hfsnap.serve")
CHUNK = 500  # models per streamed chunk: each chunk is one hop to the thread pool
ATOM_DEFAULT, ATOM_MAX = 200, 5000
Clock = Callable[[], float]


class BadRequest(UsageError):
    """A query parameter the API cannot take; answered 400 with a JSON error."""


def create_app(
    engine: Engine,
    config: ServeConfig | None = None,
    clock: Clock = time.time,
    listing: CurrentList | None = None,
) -> Starlette:
    """The Starlette app over an engine from `db.open_existing` (read-only; nothing here writes)."""
    settings, current = config or ServeConfig(), listing or CurrentList()
    routes = [
        Route("/api/v1/models", _endpoint(lambda r: list_models(engine, r, current))),
        Route("/api/v1/models/{author}/{slug}/endpoints", _endpoint(lambda r: list_endpoints(engine, r, clock()))),
        Route("/api/v1/changes", _endpoint(lambda r: change_feed(engine, r))),
        Route("/changes.atom", _endpoint(lambda r: atom_feed(engine, r))),
        Route("/healthz", _endpoint(lambda r: healthz(engine, settings, clock()))),
    ]
    return Starlette(routes=routes)


def _endpoint(handler: Callable[[Request], Response]) -> Callable[[Request], Any]:
    """A sync handler run in the thread pool (the database calls block); BadRequest becomes 400 JSON."""
    from starlette.concurrency import run_in_threadpool

    async def call(request: Request) -> Response:
        try:
            return await run_in_threadpool(handler, request)
        except BadRequest as exc:
            return error(400, str(exc))

    return call


def error(status: int, message: str) -> JSONResponse:
    """OpenRouter's error shape: {"error": {"code", "message"}}."""
    return JSONResponse({"error": {"code": status, "message": message}}, status_code=status)


def _params(request: Request, allowed: set[str]) -> dict[str, str]:
    """The query parameters, each at most once and all known; BadRequest names the first that is not."""
    seen: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key not in allowed:
            raise BadRequest(f"unknown query parameter {key!r} (expected {', '.join(sorted(allowed))})")
        if key in seen:
            raise BadRequest(f"query parameter {key!r} given twice")
        seen[key] = value
    return seen


def _as_of(value: str | None) -> queries.AsOf:
    try:
        return queries.AsOf.parse(value, "as_of")
    except UsageError as exc:
        raise BadRequest(str(exc)) from None


def _int(params: dict[str, str], key: str, default: int | None, low: int, high: int) -> int | None:
    raw = params.get(key)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{key}: expected an integer from {low} to {high}, got {raw!r}")
    return int(raw)


def _names(params: dict[str, str], *keys: str) -> frozenset[str]:
    values = [params[k] for k in keys if k in params]
    names = frozenset(n.strip() for v in values for n in v.split(","))
    if "" in names:
        raise BadRequest(f"{keys[0]}: expected a comma-separated list of names, got {','.join(values)!r}")
    return names


# ---- /api/v1/models ------------------------------------------------------------------------------------------


def list_models(engine: Engine, request: Request, current: CurrentList) -> Response:
    """`ModelsListResponse`, streamed: {"data": [...], "links": {"next"}, "total_count"}.

    The current catalog comes from `current` (built once per loaded run); a past one is read for the request.
    """
    params = _params(request, {"as_of", "provider", "providers", "supported_parameters", "offset", "limit"})
    at = _as_of(params.get("as_of"))
    providers = _names(params, "provider", "providers")
    wanted = _names(params, "supported_parameters")
    unknown = sorted(wanted - openrouter.PARAMETERS)
    if unknown:
        raise BadRequest(f"supported_parameters: unknown parameter {unknown[0]!r}")
    offset = _int(params, "offset", 0, 0, 10**9) or 0
    limit = _int(params, "limit", None, 1, 10**9)
    parts = current.parts(engine) if at.stamp is None else openrouter.iter_model_parts(engine, at, current.records)
    models = openrouter.select(parts, providers, wanted)
    next_query = {k: v for k, v in params.items() if k not in ("offset", "limit")}
    body = _model_list_chunks(models, offset, limit, lambda n: _next_link(request, next_query, n, limit))
    return StreamingResponse(body, media_type="application/json")


def _next_link(request: Request, query: dict[str, str], offset: int, limit: int | None) -> str:
    return f"{request.url.path}?{urlencode({**query, 'offset': offset, 'limit': limit})}"


def _model_list_chunks(
    models: Iterable[bytes], offset: int, limit: int | None, next_link: Callable[[int], str]
) -> Iterator[bytes]:
    """The list as JSON bytes, CHUNK models at a time; links and total_count come last, once counted."""
    yield b'{"data":['
    total, batch, first = 0, [], True
    end = None if limit is None else offset + limit
    for model in models:
        if total >= offset and (end is None or total < end):
            batch.append(model)
            if len(batch) >= CHUNK:
                yield (b"" if first else b",") + b",".join(batch)
                batch, first = [], False
        total += 1
    if batch:
        yield (b"" if first else b",") + b",".join(batch)
    more = end is not None and end < total
    tail = {"links": {"next": next_link(end) if more and end is not None else None}, "total_count": total}
    yield b"]," + orjson.dumps(tail)[1:]


# ---- /api/v1/models/{author}/{slug}/endpoints ------------------------------------------------------------------


def list_endpoints(engine: Engine, request: Request, now: float) -> Response:
    """`ListEndpointsResponse` of one listed model; 404 JSON for a model not in the catalog."""
    _params(request, set())
    model_id = f"{request.path_params['author']}/{request.path_params['slug']}"
    found = queries.model_endpoints(engine, model_id, now)
    if found is None:
        return error(404, f"model {model_id!r} is not in the catalog")
    record_json, rows = found
    return Response(orjson.dumps(openrouter.endpoints_response(orjson.loads(record_json), rows)), 200, None,
                    "application/json")  # fmt: skip


# ---- /api/v1/changes and /changes.atom ------------------------------------------------------------------------


def _since(engine: Engine, params: dict[str, str]) -> int:
    try:
        return queries.resolve_since(engine, params.get("since"))
    except UsageError as exc:
        raise BadRequest(str(exc).replace("--since", "since")) from None


def change_feed(engine: Engine, request: Request) -> Response:
    """The change feed from a run id or date (default: the last run), oldest first, streamed as a JSON object."""
    params = _params(request, {"since"})
    since = _since(engine, params)

    def body() -> Iterator[bytes]:
        yield b'{"since_run":' + orjson.dumps(since) + b',"data":['
        for i, change in enumerate(queries.iter_changes(engine, since)):
            yield (b"," if i else b"") + orjson.dumps(change)
        yield b"]}"

    return StreamingResponse(body(), media_type="application/json")


ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(engine: Engine, request: Request) -> Response:
    """Atom 1.0: the newest changes first, at most `limit` (default 200, at most 5000), one entry per change."""
    params = _params(request, {"since", "limit"})
    since = _since(engine, params) if "since" in params else 0
    limit = _int(params, "limit", ATOM_DEFAULT, 1, ATOM_MAX) or ATOM_DEFAULT
    changes = queries.latest_changes(engine, since, limit)
    self_url = str(request.url)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "title", "hfsnap: changes in the Hugging Face model catalog")
    _sub(feed, "id", f"{request.base_url}changes.atom")
    _sub(feed, "updated", _atom_time(changes[0]["changed_at"]) if changes else _atom_time(None))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _sub(author, "name", "hfsnap")
    _sub(feed, "generator", "hfsnap")
    for change in changes:
        _entry(feed, change)
    xml = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(xml, media_type="application/atom+xml; charset=utf-8")


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = text
    return element


def _entry(feed: ET.Element, change: dict[str, Any]) -> None:
    what = change["model_id"] + (f" [{change['provider']}]" if change["provider"] else "")
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _sub(entry, "title", f"{change['change']}: {what}")
    key = "/".join(str(change[k] or "") for k in ("run_id", "change", "model_id", "provider"))
    _sub(entry, "id", f"tag:hfsnap,2026:change/{key}")
    _sub(entry, "updated", _atom_time(change["changed_at"]))
    ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=f"https://huggingface.co/{change['model_id']}")
    ET.SubElement(entry, f"{{{ATOM}}}category", term=change["change"])
    before, after = change["before"] or "-", change["after"] or "-"
    summary = f"run {change['run_id']}: {change['change']} {what}; before: {before}; after: {after}"
    _sub(entry, "summary", summary)
    content = _sub(entry, "content", orjson.dumps(change).decode())
    content.set("type", "text")


def _atom_time(stamp: str | None) -> str:
    """A stored timestamp (or now) as RFC 3339, as Atom requires."""
    moment = datetime.now(UTC) if stamp is None else parse_stamp(stamp)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- /healthz ---------------------------------------------------------------------------------------------------


def healthz(engine: Engine, config: ServeConfig, now: float) -> Response:
    """200 while the last complete run is fresher than `stale_after_hours`, else 503 (also with no complete run)."""
    run = queries.last_complete_run(engine)
    body: dict[str, Any] = {"stale_after_hours": config.stale_after_hours, "last_complete_run": None}
    if run is None:
        return JSONResponse({**body, "status": "no complete run"}, status_code=503)
    finished = parse_stamp(run["finished_at"] or run["started_at"])
    age_hours = (now - finished.timestamp()) / 3600
    stale = age_hours > config.stale_after_hours
    body.update(
        status="stale" if stale else "ok",
        last_complete_run={"run_id": run["run_id"], "finished_at": run["finished_at"]},
        age_hours=round(age_hours, 3),
    )
    return JSONResponse(body, status_code=503 if stale else 200)


def serve(engine: Engine, host: str, port: int, config: ServeConfig) -> None:
    """Run the app under uvicorn until interrupted; the current list is built in the background meanwhile."""
    import uvicorn

    current = CurrentList()
    threading.Thread(target=warm, args=(engine, current), name="warm-list", daemon=True).start()
    uvicorn.run(
        create_app(engine, config, listing=current), host=host, port=port, log_level="warning", access_log=False
    )


def warm(engine: Engine, current: CurrentList) -> None:
    """Build the current list once at start, so the first list request finds it ready (or waits for it)."""
    try:
        current.parts(engine)
    except Exception as exc:  # only a head start: a request builds what is missing itself
        log.warning("serve: building the current model list stopped: %s", exc)
