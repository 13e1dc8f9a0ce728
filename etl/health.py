"""Router probes: one billed one-token chat completion per (model, provider) pair, appended to health_checks."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from .config import Config
from .db import make_engine, upgrade
from .dberrors import check_sqlite_files
from .errors import LoadError, UsageError
from .hub import HubClient, resolve_token
from .lock import lock_path
from .schema import health_checks, model_providers
from .stamps import format_stamp

log = logging.getLogger("hfsnap.health")

OUTCOMES = (
    "ok",
    "auth",
    "payment",
    "not_found",
    "gone",
    "rate_limited",
    "server_error",
    "timeout",
    "network",
    "unsupported",
)
NO_TOKEN = "no Hugging Face token: set HF_TOKEN (or run `hf auth login`); health probes are billed and need one"
_BY_STATUS = {
    401: "auth",
    403: "auth",
    402: "payment",
    404: "not_found",
    410: "gone",
    429: "rate_limited",
    408: "timeout",
}
_ERROR_CHARS = 300
SAVE_BATCH = 50  # rows per transaction: a refresh waiting for the write lock never waits long
SAVE_WAIT_S = 600.0  # how long results wait for a busy database before they are kept in the pending file


@dataclass(frozen=True)
class Pair:
    """A current (model, provider) mapping and when it was last checked (epoch seconds, None if never)."""

    model_id: str
    provider: str
    status: str
    task: str | None
    last_checked: float | None
    last_outcome: str | None

    @property
    def probeable(self) -> bool:
        """The router only serves chat completions for live conversational mappings."""
        return self.status == "live" and self.task == "conversational"


@dataclass(frozen=True)
class Check:
    """One health_checks row."""

    model_id: str
    provider: str
    checked_at: str
    checked_epoch: float
    outcome: str
    http_status: int | None = None
    latency_ms: float | None = None
    error: str | None = None


@dataclass
class HealthResult:
    """What a health run did: the rows it appended, the pairs left for later, and a database error if any."""

    checks: list[Check]
    deferred: int = 0  # probeable pairs beyond the probe budget, first in line next time
    error: str | None = None  # the database refused the rows (the probes were made, the results kept)
    kept_in: str | None = None  # the pending file holding them until the next health run
    busy: bool = False  # the cause was another writer holding the lock past the wait

    @property
    def exit_code(self) -> int:
        if self.error is None:
            return 0
        return 75 if self.busy else 1  # busy: nothing lost, the lock was held, try again later (EX_TEMPFAIL)

    @property
    def probed(self) -> int:
        return sum(c.outcome != "unsupported" for c in self.checks)

    def counts(self) -> dict[str, int]:
        """Rows per outcome, in the contract's order."""
        seen = Counter(c.outcome for c in self.checks)
        return {o: seen[o] for o in OUTCOMES if seen[o]}

    def as_dict(self) -> dict[str, Any]:
        return {
            "probed": self.probed,
            "unsupported": sum(c.outcome == "unsupported" for c in self.checks),
            "deferred": self.deferred,
            "outcomes": self.counts(),
            "checks": [asdict(c) for c in self.checks],
            "saved": self.error is None,
            "kept_in": self.kept_in,
            "error": self.error,
        }

    def render(self) -> str:
        lines = [
            f"health: {self.probed} probed, {self.deferred} deferred to a later run"
            + ("" if self.error is None else f"; NOT SAVED YET: {self.error}")
        ]
        lines += [f"  {outcome:<13} {n}" for outcome, n in self.counts().items()]
        bad = [c for c in self.checks if c.outcome not in ("ok", "unsupported")]
        if bad:
            lines.append("not ok:")
        for c in bad:
            status = f"HTTP {c.http_status}" if c.http_status is not None else "no answer"
            latency = f"{c.latency_ms:.0f} ms" if c.latency_ms is not None else "-"
            lines.append(f"  {c.model_id} [{c.provider}] {c.outcome} ({status}, {latency}): {c.error or '-'}")
        if not self.checks:
            lines.append("  no (model, provider) pairs to check: run `hfsnap refresh` first, or widen --provider")
        return "\n".join(lines)


def health_client(config: Config, token: str | None = None, transport: httpx.BaseTransport | None = None) -> HubClient:
    """The client the probes go through: the token (else the resolved one), a pool that fits every probe in flight."""
    # Waiting for a pooled connection would read as a timeout of the probe that waits.
    hub = replace(config.hub, concurrency=max(config.hub.concurrency, config.health.concurrency))
    return HubClient(hub, token=token or resolve_token(), transport=transport)


def run_health(
    config: Config,
    client: HubClient | None = None,
    *,
    limit: int | None = None,
    providers: Iterable[str] | None = None,
    clock: Callable[[], datetime] | None = None,
    save_wait_s: float = SAVE_WAIT_S,
) -> HealthResult:
    """Probe the least recently checked live conversational pairs, record the rest `unsupported`, append all rows.

    `client` (health_client(config) if omitted, and then closed) is the caller's to close. An `unsupported` row is
    appended when a pair becomes so, not again on every run while it stays so: a catalog has thousands of such
    mappings and an hourly job would otherwise grow health_checks by thousands of rows an hour.
    """
    if client is None:
        with health_client(config) as own:
            return run_health(config, own, limit=limit, providers=providers, clock=clock, save_wait_s=save_wait_s)
    if not client.has_token:
        raise UsageError(NO_TOKEN)
    budget = config.health.max_checks if limit is None else limit
    if budget < 0:
        raise UsageError(f"--limit must be >= 0, got {limit}")
    wanted = tuple(providers) if providers else config.health.providers
    now = clock or (lambda: datetime.now(UTC))
    check_sqlite_files(config.db.url)  # a database that cannot take the rows must fail before any billed probe
    engine = make_engine(config.db.url)
    try:
        upgrade(engine)
        recovered = recover_pending(engine)
        pairs = select_pairs(engine, wanted)
        to_probe, deferred = plan(pairs, budget)
        checks = [_unsupported(p, now()) for p in pairs if not p.probeable and p.last_outcome != "unsupported"]
        probed: list[Check] = []
        try:
            checks += probe_all(config, to_probe, client, now, probed)
        except BaseException:  # interrupted: every probe made so far was billed, so it is saved or kept
            error, _, _ = save_or_keep(engine, checks + probed, min(save_wait_s, 10.0), time.sleep)
            log.error("health: interrupted after %d probes; %s", len(probed), error or "their results are saved")
            raise
        result = HealthResult(checks, deferred=deferred)
        if recovered:
            log.info("health: saved %d results an earlier run had kept in %s", recovered, pending_path(engine))
        result.error, result.kept_in, result.busy = save_or_keep(engine, checks, save_wait_s, time.sleep)
        if result.error:
            result.error = client.redact(result.error)
            log.error("health: %s", result.error)
        return result
    finally:
        engine.dispose()


def select_pairs(engine: Engine, providers: tuple[str, ...] = ()) -> list[Pair]:
    """Current mappings (optionally of some providers) with their latest check."""
    latest = (
        select(health_checks.c.model_id, health_checks.c.provider, func.max(health_checks.c.check_id).label("check_id"))
        .group_by(health_checks.c.model_id, health_checks.c.provider)
        .subquery()
    )
    mp, hc = model_providers.c, health_checks.c
    query = (
        select(mp.model_id, mp.provider, mp.status, mp.task, hc.checked_epoch, hc.outcome)
        .select_from(
            model_providers.outerjoin(
                latest, (latest.c.model_id == mp.model_id) & (latest.c.provider == mp.provider)
            ).outerjoin(health_checks, hc.check_id == latest.c.check_id)
        )
        .where(mp.valid_to.is_(None))
        .order_by(mp.model_id, mp.provider)
    )
    if providers:
        query = query.where(mp.provider.in_(providers))
    try:
        with engine.connect() as conn:
            return [Pair(*row) for row in conn.execute(query)]
    except SQLAlchemyError as exc:
        raise LoadError(f"cannot read model_providers: {getattr(exc, 'orig', exc)}") from None


def plan(pairs: list[Pair], budget: int) -> tuple[list[Pair], int]:
    """The probeable pairs to probe now (never checked first, then least recently, then by id) and how many wait."""
    probeable = sorted(
        (p for p in pairs if p.probeable),
        key=lambda p: (p.last_checked is not None, p.last_checked or 0.0, p.model_id, p.provider),
    )
    return probeable[:budget], max(0, len(probeable) - budget)


def probe_all(
    config: Config,
    pairs: list[Pair],
    client: HubClient,
    now: Callable[[], datetime],
    done: list[Check] | None = None,
) -> list[Check]:
    """Probe pairs concurrently; results come back in the order asked.

    Each result is also appended to `done` as it arrives: if the run is interrupted (SIGTERM, Ctrl-C), no probe not
    yet started is made, the ones in flight finish, and `done` holds every billed result for the caller to keep.
    """
    if not pairs:
        return []
    done = [] if done is None else done
    pool = ThreadPoolExecutor(max_workers=config.health.concurrency, thread_name_prefix="health")
    try:
        futures = [pool.submit(probe, client, p, config.health.timeout_s, now) for p in pairs]
        for future in futures:
            future.add_done_callback(lambda f: done.append(f.result()) if not f.cancelled() else None)
        results = [f.result() for f in futures]
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # nothing new is billed; what is in flight is kept
        raise
    pool.shutdown(wait=True)
    return results


def probe(client: HubClient, pair: Pair, timeout_s: float, now: Callable[[], datetime]) -> Check:
    """One chat completion, classified; never raises for an HTTP or network failure (the outcome is the datum)."""
    stamp = now()
    started = time.perf_counter()
    try:
        response = client.chat_probe(pair.model_id, pair.provider, timeout_s)
        outcome, error = classify(response)
        status: int | None = response.status_code
    except httpx.TimeoutException:
        outcome, error, status = "timeout", f"no answer within {timeout_s:g}s", None
    except (httpx.RequestError, OSError) as exc:  # connect/read errors, a dropped connection, a broken body
        outcome, error, status = "network", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, None
    latency_ms = (time.perf_counter() - started) * 1000
    return _check(
        pair, stamp, outcome, status, round(latency_ms, 1), client.redact(error)[:_ERROR_CHARS] if error else None
    )


def classify(response: httpx.Response) -> tuple[str, str | None]:
    """Outcome and short error text of a router answer (SPEC section 7)."""
    code = response.status_code
    if 200 <= code < 300:
        return "ok", None
    if code in _BY_STATUS:
        outcome = _BY_STATUS[code]
    elif code >= 500:
        outcome = "server_error"
    elif code >= 400:
        # 400 is how the router says "not supported by any provider you have enabled": unreachable as asked.
        outcome = "not_found"
    else:
        outcome = "server_error"  # a redirect or informational answer is not what the router promises
    return outcome, error_text(response)


def error_text(response: httpx.Response) -> str:
    """The server's own message: OpenAI-style {"error": {"message"}}, {"error": "..."}, a header, or the body."""
    message: Any = response.headers.get("x-error-message")
    if not message:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        message = body.get("error") or body.get("message") if isinstance(body, dict) else None
        if isinstance(message, dict):
            message = message.get("message") or orjson.dumps(message).decode()
    if not message:
        message = response.text[:_ERROR_CHARS] or response.reason_phrase
    return " ".join(str(message).split())[:_ERROR_CHARS]


def save(engine: Engine, checks: list[Check], busy_ms: int | None = None) -> None:
    """Append rows in short transactions (SAVE_BATCH rows each), so a waiting writer never waits long."""
    for i in range(0, len(checks), SAVE_BATCH):
        with engine.begin() as conn:
            if busy_ms is not None and conn.dialect.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA busy_timeout={busy_ms}")
            conn.execute(health_checks.insert(), [asdict(c) for c in checks[i : i + SAVE_BATCH]])


def save_or_keep(
    engine: Engine, checks: list[Check], wait_s: float, sleep: Callable[[float], None]
) -> tuple[str | None, str | None, bool]:
    """Save the rows, waiting up to `wait_s` for another writer; else keep them in the pending file.

    Probes are billed: a result is never dropped. Returns (error, pending file, whether the lock was the cause);
    (None, None, False) once saved.
    """
    started = time.monotonic()
    saved = 0
    while True:
        left = wait_s - (time.monotonic() - started)
        try:
            save(engine, checks[saved:], busy_ms=int(max(0.1, min(left, 30.0)) * 1000))
            return None, None, False
        except SQLAlchemyError as exc:
            saved += _rows_saved(engine, checks[saved:])
            why = " ".join(str(getattr(exc, "orig", None) or exc).split())
            busy = isinstance(exc, OperationalError) and "locked" in why.lower()
            if not busy or time.monotonic() - started >= wait_s:
                break
            log.info("health: the database is busy (a refresh writing?); retrying the save")
            sleep(1.0)
    path = pending_path(engine)
    rest = checks[saved:]
    try:
        keep_pending(path, rest)
    except OSError as exc:
        return f"cannot write health_checks nor keep {len(rest)} results in {path}: {exc.strerror or exc}", None, busy
    state = f"still locked after {wait_s:g}s" if busy else why
    return (
        f"cannot write health_checks ({state}): {len(rest)} results kept in {path}; the next `hfsnap health` saves "
        "them",
        str(path),
        busy,
    )


def _rows_saved(engine: Engine, tried: list[Check]) -> int:
    """How many of `tried` a failed save() committed (its batches commit one by one, in order)."""
    if not tried:
        return 0
    try:
        with engine.connect() as conn:
            stored = {
                (r.model_id, r.provider, r.checked_at)
                for r in conn.execute(
                    select(health_checks.c.model_id, health_checks.c.provider, health_checks.c.checked_at).where(
                        health_checks.c.checked_at >= min(c.checked_at for c in tried)
                    )
                )
            }
    except SQLAlchemyError:
        return 0
    count = 0
    for c in tried:
        if (c.model_id, c.provider, c.checked_at) not in stored:
            break
        count += 1
    return count


def pending_path(engine: Engine) -> Path:
    """Where results the database refused wait for the next health run: beside the refresh lock file."""
    lock = lock_path(engine)
    return lock.with_name(lock.name.removesuffix(".lock") + ".health-pending.jsonl")


def keep_pending(path: Path, checks: list[Check]) -> None:
    """Append rows to the pending file (locked: two health runs may both be keeping results)."""
    with open(path, "ab") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        out.write(b"".join(orjson.dumps(asdict(c)) + b"\n" for c in checks))
        out.flush()
        os.fsync(out.fileno())


def recover_pending(engine: Engine) -> int:
    """Insert the rows an earlier run kept; the file goes once they are committed. Returns how many."""
    path = pending_path(engine)
    if not path.exists():
        return 0
    with open(path, "r+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        rows = [orjson.loads(line) for line in held.read().splitlines() if line.strip()]
        if rows:
            save(engine, [Check(**r) for r in rows])
        path.unlink()
    return len(rows)


def _unsupported(pair: Pair, stamp: datetime) -> Check:
    why = f"not probed: mapping is {pair.status}, task {pair.task or 'unknown'} (only live conversational mappings are)"
    return _check(pair, stamp, "unsupported", None, None, why)


def _check(
    pair: Pair, stamp: datetime, outcome: str, status: int | None, latency_ms: float | None, error: str | None
) -> Check:
    utc = stamp.astimezone(UTC)
    return Check(
        pair.model_id,
        pair.provider,
        format_stamp(utc),
        utc.timestamp(),
        outcome,
        status,
        latency_ms,
        error,
    )
