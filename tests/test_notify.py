"""[notify] against a local receiver on loopback: webhook payload, ping sequence, metrics file, failing receivers."""

from __future__ import annotations

import dataclasses
import http.server
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from prometheus_client.parser import text_string_to_metric_families

from etl.config import NotifyConfig
from etl.errors import HubError
from etl.fakehub import parse_fault


class _QuietServer(http.server.ThreadingHTTPServer):
    """A receiver whose client gave up (the slow-receiver tests) must not print a traceback into a later test."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Receiver:
    """A tiny HTTP server recording every request; `delay` makes it slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.delay = delay
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(
                    {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": body}
                )
                time.sleep(receiver.delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _notify(h: Any, tmp_path: Path, base: str, **kw: Any) -> Path:
    metrics = tmp_path / "hfsnap.prom"
    config = NotifyConfig(webhook_url=f"{base}/hook", ping_url=f"{base}/ping/uuid-1", metrics_file=str(metrics), **kw)
    h.config = dataclasses.replace(h.config, notify=config)
    return metrics


def _metrics(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    families = text_string_to_metric_families(path.read_text())
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def _webhooks(r: Receiver) -> list[dict[str, Any]]:
    return [json.loads(q["body"]) for q in r.requests if q["path"] == "/hook"]


def test_complete_run_pings_start_then_success_and_posts_its_summary(harness, receiver, tmp_path):
    h = harness()
    metrics = _notify(h, tmp_path, receiver.url)
    report = h.refresh()
    assert report.status == "complete"
    assert receiver.paths() == ["/ping/uuid-1/start", "/hook", "/ping/uuid-1"]
    (payload,) = _webhooks(receiver)
    assert payload["run_id"] == report.run_id and payload["status"] == "complete" and payload["error"] is None
    assert payload["models_added"] == report.counts.models_added > 0 and payload["exit_code"] == 0
    assert len(payload["changes"]["added"]) == 5 and all(len(v) <= 5 for v in payload["changes"].values())
    values = _metrics(metrics)
    assert values[("hfsnap_last_run_status", (("status", "complete"),))] == 1.0
    assert values[("hfsnap_last_run_status", (("status", "failed"),))] == 0.0
    assert values[("hfsnap_last_run_models_added", ())] == report.counts.models_added
    assert values[("hfsnap_last_run_requests", ())] == report.requests
    end = values[("hfsnap_last_run_end_timestamp_seconds", ())]
    assert values[("hfsnap_last_complete_run_timestamp_seconds", ())] == end
    assert end >= values[("hfsnap_last_run_start_timestamp_seconds", ())]


def test_partial_and_failed_runs_ping_fail_and_keep_the_last_complete_time(harness, receiver, tmp_path):
    h = harness()
    metrics = _notify(h, tmp_path, receiver.url)
    h.refresh()
    last_complete = _metrics(metrics)[("hfsnap_last_complete_run_timestamp_seconds", ())]
    h.app.faults.append(parse_fault("drift:times=0"))
    assert h.refresh().status == "partial"
    h.app.faults[:] = [parse_fault("status:code=500,times=0")]
    with pytest.raises(HubError):
        h.refresh()
    assert receiver.paths()[3:] == [
        "/ping/uuid-1/start",
        "/hook",
        "/ping/uuid-1/fail",
        "/ping/uuid-1/start",
        "/hook",
        "/ping/uuid-1/fail",
    ]
    partial, failed = _webhooks(receiver)[1:]
    assert partial["status"] == "partial" and "max_reject_ratio" in partial["error"] and partial["exit_code"] == 3
    assert failed["status"] == "failed" and failed["run_id"] == 3 and failed["exit_code"] == 1
    assert "HTTP 500" in failed["error"]
    fail_ping = receiver.requests[-1]["body"].decode()
    assert fail_ping.startswith("hfsnap run 3: failed: the Hub answered no listing")
    values = _metrics(metrics)
    assert values[("hfsnap_last_run_status", (("status", "failed"),))] == 1.0
    assert values[("hfsnap_last_run_exit_code", ())] == 1.0
    assert abs(values[("hfsnap_last_complete_run_timestamp_seconds", ())] - last_complete) < 1e-3


def test_the_token_is_never_sent(harness, receiver, tmp_path):
    h = harness()
    _notify(h, tmp_path, receiver.url)
    h.app.faults.append(parse_fault("drift:times=0"))
    h.refresh()
    for request in receiver.requests:
        assert "authorization" not in {k.lower() for k in request["headers"]}
        assert TOKEN not in json.dumps({k: v for k, v in request["headers"].items()})
        assert TOKEN.encode() not in request["body"]


def test_receiver_down_is_logged_with_secrets_redacted_and_the_run_still_completes(harness, tmp_path, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    h = harness()
    metrics = _notify(h, tmp_path, f"http://user:pa55word@127.0.0.1:{port}")
    with caplog.at_level(logging.WARNING, logger="hfsnap.notify"):
        report = h.refresh()
    assert report.status == "complete" and report.exit_code == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "hfsnap.notify"]
    assert len(warnings) == 3 and all(f"http://127.0.0.1:{port}/***" in w for w in warnings)
    assert not any("pa55word" in w or "uuid-1" in w or "user" in w for w in warnings)
    assert metrics.exists()  # the file does not depend on the receivers


def test_slow_receiver_is_cut_off_by_notify_timeout(harness, tmp_path):
    slow = Receiver(delay=30)
    try:
        h = harness()
        _notify(h, tmp_path, slow.url, timeout_s=1)
        started = time.monotonic()
        report = h.refresh()
        elapsed = time.monotonic() - started
    finally:
        slow.close()
    print(f"\nrun with a receiver that answers after 30 s (notify.timeout_s = 1): {elapsed:.1f}s")
    assert report.status == "complete"
    assert elapsed < 20  # three notifications of at most 1 s each, not 90 s
