"""Router emulation: GET /v1/models from catalog.router and POST /v1/chat/completions driven by catalog.health."""

from __future__ import annotations

import datetime as dt
import threading
import time
import zlib
from typing import Any

import orjson

from .catalog import Catalog
from .reply import DropConnection, Reply, error_reply, json_reply

POLICIES = ("fastest", "cheapest", "preferred")
HANG_SECONDS = 30.0  # default `hang` duration; apps copy it into `.hang_s` (tests shorten that)


def _created(item: dict[str, Any] | None) -> int:
    try:
        stamp = str(item["createdAt"]).replace("Z", "+00:00")  # type: ignore[index]  # None: TypeError, caught
        return int(dt.datetime.fromisoformat(stamp).timestamp())
    except (TypeError, KeyError, ValueError):
        return 0


def model_entry(catalog: Catalog, mid: str, providers: list[dict[str, Any]]) -> dict[str, Any]:
    """One element of /v1/models `data` (the documented router shape)."""
    item = catalog.models.get(mid)
    vision = item is not None and item.get("pipeline_tag") == "image-text-to-text"
    return {
        "id": mid,
        "object": "model",
        "created": _created(item),
        "owned_by": (item or {}).get("author") or mid.partition("/")[0],
        "architecture": {"input_modalities": ["text", "image"] if vision else ["text"], "output_modalities": ["text"]},
        "providers": providers,
    }


class ModelsPayload:
    """/v1/models body cached per catalog version (building it walks every router entry)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._body = b""

    def get(self, catalog: Catalog) -> bytes:
        key = (id(catalog), catalog.version)
        with self._lock:
            if self._key != key:
                snapshot = list(catalog.router.items())  # one C-level copy: safe against concurrent set_router
                data = [model_entry(catalog, mid, entries) for mid, entries in snapshot]
                self._body = orjson.dumps({"object": "list", "data": data})
                self._key = key
            return self._body


def pick_provider(catalog: Catalog, model: str) -> tuple[str, str] | None:
    """`org/name[:provider|:policy]` -> (model id, provider), or None when nothing can serve it."""
    mid, sep, suffix = model.rpartition(":")
    if not sep:
        mid, suffix = model, "fastest"
    entries = catalog.router.get(mid, [])
    if suffix not in POLICIES:
        known = any(e.get("provider") == suffix for e in entries) or (mid, suffix) in catalog.health
        return (mid, suffix) if known else None
    live = [e for e in entries if e.get("status") == "live"]
    if not live:
        return None
    if suffix == "fastest":
        best = max(live, key=lambda e: e.get("throughput") or 0.0)
    elif suffix == "cheapest":
        best = min(live, key=lambda e: (e.get("pricing") or {}).get("output", float("inf")))
    else:
        best = live[0]
    return mid, str(best["provider"])


def chat_completion(catalog: Catalog, body: bytes, stop: threading.Event, hang_s: float, retry_after_s: int) -> Reply:
    """Answer one chat completion as the router would for the pair's health behaviour."""
    try:
        payload = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        return error_reply(400, "Invalid JSON body")
    model = payload.get("model") if isinstance(payload, dict) else None
    if not isinstance(model, str) or not model:
        return error_reply(400, "Missing 'model' in request body")
    target = pick_provider(catalog, model)
    if target is None:
        return error_reply(400, f"The requested model '{model}' is not supported by any provider you have enabled.")
    mid, provider = target
    behaviour = catalog.health.get((mid, provider), "ok")
    if behaviour == "ok":
        return json_reply(200, _completion(mid, provider))
    if behaviour == "auth":
        return error_reply(403, f"This authentication method does not have sufficient permissions to call {provider}.")
    if behaviour == "payment":
        return error_reply(
            402,
            "You have exceeded your monthly included credits for Inference Providers. "
            "Subscribe to PRO to get 20x more monthly included credits.",
        )
    if behaviour == "not_found":
        return error_reply(404, f"Model {mid} is not available on provider {provider}.")
    if behaviour == "gone":
        return error_reply(410, f"Model {mid} has been retired by provider {provider}.")
    if behaviour == "rate_limited":
        return error_reply(429, "Rate limit reached, please retry later.", [("Retry-After", str(retry_after_s))])
    if behaviour == "server_error":
        return error_reply(503, f"Provider {provider} is temporarily unavailable.")
    if behaviour == "hang":
        stop.wait(hang_s)  # wakes at once when the app is closed, so tests and shutdowns never block
        return error_reply(504, "Gateway Timeout")
    if behaviour == "network":
        raise DropConnection()
    return error_reply(500, f"unknown health behaviour {behaviour!r}")


def _completion(mid: str, provider: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{zlib.crc32(f'{mid}:{provider}'.encode()):08x}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": mid,
        "system_fingerprint": f"fake-{provider}",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "P"}, "finish_reason": "length", "logprobs": None}
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10},
    }
