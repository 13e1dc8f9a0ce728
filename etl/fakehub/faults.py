"""Fault injection specs: the Fault dataclass and parse_fault("KIND[:key=value,...]")."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

KINDS = ("status", "ratelimit", "truncate", "malformed", "oldshape", "loop", "stale", "shrink", "slow", "drift")
# They rewrite a listing page, so only listings count.
LISTING_ONLY = frozenset({"malformed", "oldshape", "loop", "stale", "shrink", "drift"})
_COMMON = ("times", "after", "provider", "path")
_KIND_KEYS = {
    "status": ("code",),
    "ratelimit": ("style", "reset"),
    "truncate": (),
    "malformed": ("count",),
    "oldshape": ("count",),
    "loop": (),
    "stale": (),  # the hit page repeats the listing's first page, its next link still advances
    "shrink": ("ratio",),
    "slow": ("ms",),
    "drift": (),  # every mapping entry of a hit page carries `modelStatus` instead of `status` (a shape change)
}
STYLES = ("retry-after", "ratelimit")


@dataclass
class Fault:
    """One injected misbehaviour. `times=0` means forever; `after` skips that many matching requests first.

    `provider` scopes it to requests whose inference_provider values (or chat `model:provider` suffix) include it;
    `path` is a path prefix. `seen`/`hits` are live counters the app updates under its lock.
    """

    kind: str
    times: int = 1
    after: int = 0
    provider: str | None = None
    path: str = "/api/models"
    code: int = 503  # status
    style: str = "retry-after"  # ratelimit: retry-after | ratelimit
    reset: int = 1  # ratelimit: seconds until the client may retry
    count: int = 3  # malformed / oldshape: items replaced at the head of each hit page
    ratio: float = 0.6  # shrink: fraction of the listing dropped
    ms: int = 5000  # slow: delay before answering
    seen: int = field(default=0, compare=False)
    hits: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (expected one of {', '.join(KINDS)})")

    def matches(self, path: str, listing: bool, providers: frozenset[str]) -> bool:
        """Whether a request is in scope (counters are not touched)."""
        if self.kind in LISTING_ONLY and not listing:
            return False
        if not path.startswith(self.path):
            return False
        return self.provider is None or self.provider in providers

    def take(self) -> bool:
        """Count one in-scope request; True if the fault fires on it (honours `after` and `times`)."""
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times and self.hits >= self.times:
            return False
        self.hits += 1
        return True

    @property
    def exhausted(self) -> bool:
        return bool(self.times) and self.hits >= self.times


def parse_fault(spec: str) -> Fault:
    """Parse `KIND[:key=value[,key=value...]]`, e.g. `status:code=503,times=2` or `shrink:ratio=0.5,provider=groq`."""
    kind, _, rest = spec.strip().partition(":")
    kind = kind.strip()
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r} (expected one of {', '.join(KINDS)})")
    allowed = _COMMON + _KIND_KEYS[kind]
    types = {f.name: f.type for f in fields(Fault)}
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not eq or not raw:
            raise ValueError(f"fault {spec!r}: expected key=value, got {part!r}")
        if key not in allowed:
            raise ValueError(f"fault {spec!r}: unknown key {key!r} for {kind} (allowed: {', '.join(allowed)})")
        values[key] = _convert(spec, key, raw, str(types[key]))
    fault = Fault(kind=kind, **values)
    _validate(spec, fault)
    return fault


def _convert(spec: str, key: str, raw: str, type_name: str) -> Any:
    try:
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"fault {spec!r}: {key} must be a number, got {raw!r}") from None
    return raw


def _validate(spec: str, f: Fault) -> None:
    if f.times < 0 or f.after < 0:
        raise ValueError(f"fault {spec!r}: times and after must be >= 0")
    if f.kind == "status" and not 100 <= f.code <= 599:
        raise ValueError(f"fault {spec!r}: code must be an HTTP status (100-599), got {f.code}")
    if f.kind == "ratelimit" and f.style not in STYLES:
        raise ValueError(f"fault {spec!r}: style must be one of {', '.join(STYLES)}, got {f.style!r}")
    if f.reset < 0 or f.ms < 0 or f.count < 0:
        raise ValueError(f"fault {spec!r}: reset, ms and count must be >= 0")
    if not 0.0 <= f.ratio <= 1.0:
        raise ValueError(f"fault {spec!r}: ratio must be within [0, 1], got {f.ratio}")
    if not f.path.startswith("/"):
        raise ValueError(f"fault {spec!r}: path must start with '/', got {f.path!r}")
