"""Run notifications from [notify]: a webhook JSON POST, healthchecks-style pings, a Prometheus textfile.

Every notification is best effort: a failure is logged (URL secrets redacted) and never changes the run's outcome.
None of them is sent the Hub token: they use their own HTTP client, which never carries an Authorization header.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .config import NotifyConfig
from .errors import LockBusy
from .hub import Deadline, deadline_transport
from .redaction import redact, url_for_log
from .stamps import parse_stamp

if TYPE_CHECKING:
    from .pipeline import RunReport

log = logging.getLogger("hfsnap.notify")
CHANGE_KINDS = (
    "added",
    "removed",
    "restored",
    "changed",
    "gating",
    "provider_added",
    "provider_removed",
    "provider_status",
    "price",
)
FIRST_CHANGES = 5  # per kind, in the webhook payload
_LAST_COMPLETE = re.compile(r"^hfsnap_last_complete_run_timestamp_seconds (\S+)$", re.M)


class Notifier:
    """Sends one run's notifications; constructed per run, does nothing for keys left empty."""

    def __init__(
        self,
        config: NotifyConfig,
        db_url: str,
        redact_secrets: Callable[[str], str] = redact,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.db_url = db_url
        self._redact = redact_secrets  # the Hub client's: hides its token (and any URL credentials)
        self._transport = transport
        self._now = now
        self.started_at = now()

    @property
    def active(self) -> bool:
        return bool(self.config.webhook_url or self.config.ping_url or self.config.metrics_file)

    def started(self) -> None:
        """The run has the lock and begins: <ping_url>/start."""
        self.started_at = self._now()
        if self.config.ping_url:
            self._send("ping", "POST", _join(self.config.ping_url, "start"), content=b"")

    def finished(self, report: RunReport | None, error: BaseException | None) -> None:
        """After the run, whatever its outcome (a LockBusy run never started: nothing to report)."""
        if not self.active or isinstance(error, LockBusy):
            return
        payload = self.payload(report, error)
        if self.config.webhook_url:
            body = self._redact(orjson.dumps(payload).decode()).encode()
            self._send("webhook", "POST", self.config.webhook_url, content=body, json_body=True)
        if self.config.ping_url:
            ok = payload["status"] == "complete"
            url = self.config.ping_url if ok else _join(self.config.ping_url, "fail")
            line = f"hfsnap run {payload['run_id']}: {payload['status']}" + (
                f": {payload['error']}" if payload["error"] else ""
            )
            self._send("ping", "POST", url, content=self._redact(line)[:10_000].encode())
        if self.config.metrics_file:
            try:
                write_metrics(Path(self.config.metrics_file), payload, self._last_complete(payload))
            except OSError as exc:
                log.warning("notify: cannot write metrics_file %s: %s", self.config.metrics_file, exc.strerror or exc)

    def payload(self, report: RunReport | None, error: BaseException | None) -> dict[str, Any]:
        """What the webhook receives (and the metrics file and ping are made of)."""
        ended = self._now()
        if report is not None:
            data = report.as_dict()
            data.pop("incomplete", None)
            data["incomplete"] = report.incomplete[:50]
            data["changes"] = self._first_changes(report.run_id)
        else:
            data = {"run_id": getattr(error, "run_id", None), "status": "failed", "changes": {}}
        message = str(error) if error is not None and str(error) else (type(error).__name__ if error else None)
        data["error"] = self._redact(message) if message else (report.error if report else None)
        if report is not None and report.incomplete and not data["error"]:
            data["error"] = self._redact("; ".join(report.incomplete)[:2000])
        data["exit_code"] = report.exit_code if report is not None else getattr(error, "exit_code", 1)
        started = self.started_at
        if report is not None:  # the run's own clock: what the runs table says, and what staleness is measured by
            started, ended = _epoch(report.started_at), _epoch(report.finished_at)
        data["started_epoch"] = started
        data["finished_epoch"] = ended
        data["duration_s"] = round(ended - started, 3)
        return data

    def _first_changes(self, run_id: int) -> dict[str, list[dict[str, Any]]]:
        """The first few changes of each kind this run made (catalog_changes)."""
        from .db import make_engine

        out: dict[str, list[dict[str, Any]]] = {}
        engine = make_engine(self.db_url)
        try:
            with engine.connect() as conn:
                for kind in CHANGE_KINDS:
                    rows = conn.execute(
                        text(
                            "SELECT model_id, provider, before, after FROM catalog_changes "
                            "WHERE run_id = :r AND change = :k ORDER BY model_id, provider LIMIT :n"
                        ),
                        {"r": run_id, "k": kind, "n": FIRST_CHANGES},
                    )
                    found = [dict(r._mapping) for r in rows]
                    if found:
                        out[kind] = found
        except SQLAlchemyError as exc:
            log.warning("notify: cannot read this run's changes: %s", type(exc).__name__)
        finally:
            engine.dispose()
        return out

    def _last_complete(self, payload: dict[str, Any]) -> float | None:
        """When the last complete run ended: this one, else the database's record, else the previous file's."""
        if payload["status"] == "complete":
            return float(payload["finished_epoch"])
        from .db import make_engine

        engine = make_engine(self.db_url)
        try:
            with engine.connect() as conn:
                stamp = conn.execute(text("SELECT MAX(finished_at) FROM runs WHERE status = 'complete'")).scalar()
            return _epoch(str(stamp)) if stamp else None
        except SQLAlchemyError:
            pass
        finally:
            engine.dispose()
        try:
            found = _LAST_COMPLETE.search(Path(self.config.metrics_file).read_text(encoding="utf-8"))
            return float(found.group(1)) if found else None
        except (OSError, ValueError):
            return None

    def _send(self, what: str, method: str, url: str, content: bytes, json_body: bool = False) -> None:
        """One request with no retries, bounded by notify.timeout_s in all; failures are logged, never raised."""
        timeout = self.config.timeout_s
        headers = {"User-Agent": "hfsnap/0.1", "Content-Type": "application/json" if json_body else "text/plain"}
        limits = httpx.Limits(max_connections=1)
        try:
            with (
                httpx.Client(
                    transport=self._transport or deadline_transport(limits),
                    timeout=timeout,
                    follow_redirects=False,
                ) as client,
                Deadline(timeout),
            ):
                response = client.request(method, url, content=content, headers=headers)
            if response.status_code >= 300:
                log.warning("notify: %s %s answered HTTP %d", what, url_for_log(url), response.status_code)
        except httpx.HTTPError as exc:
            log.warning("notify: %s %s failed: %s", what, url_for_log(url), redact(str(exc) or type(exc).__name__, url))


def _epoch(iso: str) -> float:
    return parse_stamp(iso).astimezone(UTC).timestamp()


def _join(url: str, suffix: str) -> str:
    """<url>/<suffix>, keeping a query string where it belongs."""
    base, sep, query = url.partition("?")
    return f"{base.rstrip('/')}/{suffix}" + (f"?{query}" if sep else "")


def metrics_text(payload: dict[str, Any], last_complete: float | None) -> str:
    """The Prometheus text exposition of one run."""
    status = payload["status"]
    lines: list[str] = []

    def gauge(name: str, help_: str, value: float | None, labels: str = "") -> None:
        if value is None:
            return
        if not any(line.startswith(f"# HELP {name} ") for line in lines):
            lines.extend([f"# HELP {name} {help_}", f"# TYPE {name} gauge"])
        lines.append(f"{name}{labels} {float(value)!r}")

    for s in ("complete", "partial", "failed"):
        gauge("hfsnap_last_run_status", "1 for the status of the last refresh", int(s == status), f'{{status="{s}"}}')
    gauge("hfsnap_last_run_exit_code", "Exit code of the last refresh", payload.get("exit_code"))
    gauge("hfsnap_last_run_start_timestamp_seconds", "When the last refresh started", payload["started_epoch"])
    gauge("hfsnap_last_run_end_timestamp_seconds", "When the last refresh ended", payload["finished_epoch"])
    gauge("hfsnap_last_run_duration_seconds", "How long the last refresh took", payload["duration_s"])
    counts = (
        ("requests", "requests", "HTTP requests the last refresh made"),
        ("models_listed", "models_seen", "Models the last refresh listed"),
        ("models_added", "models_added", "Models the last refresh added"),
        ("models_changed", "models_changed", "Models the last refresh changed"),
        ("models_removed", "models_removed", "Models the last refresh retired"),
        ("rejects", "rejects", "Records the last refresh rejected"),
    )
    for name, key, help_ in counts:
        gauge(f"hfsnap_last_run_{name}", help_, payload.get(key))
    gauge("hfsnap_last_complete_run_timestamp_seconds", "When the last complete refresh ended", last_complete)
    return "\n".join(lines) + "\n"


def write_metrics(path: Path, payload: dict[str, Any], last_complete: float | None) -> None:
    """Replace `path` atomically (a collector never reads half a file)."""
    body = metrics_text(payload, last_complete).encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # node_exporter usually runs as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
