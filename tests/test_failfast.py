"""Failing fast on real loopback sockets: an unreachable Hub ends a refresh (exit 1, one line) within 30 s.

The bounds asserted are the issue's own (30 s, 2 min), generous against the measured times, which each test prints
(`pytest -s tests/test_failfast.py`); the shipped config.toml is used, so these are the defaults' figures.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_sql
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from etl.fakehub import generate_catalog, make_app, start_in_thread

ROOT = Path(__file__).resolve().parent.parent


def _env(url: str, tmp_path: Path, config: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HFSNAP_"))}
    env.update(
        HF_ENDPOINT=url,
        HFSNAP_ROUTER_URL=url,
        HF_TOKEN="hf_failfastTOKEN",
        HF_HOME=str(tmp_path / "hfhome"),
        HFSNAP_CONFIG=str(config or ROOT / "config.toml"),
    )
    return env


def _refresh(url: str, tmp_path: Path, config: Path | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "etl", "refresh", "--db", f"sqlite:///{tmp_path / 'hf.db'}"],
        env=_env(url, tmp_path, config),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out, time.monotonic() - started


def _runs(tmp_path: Path) -> list[tuple[Any, ...]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'hf.db'}", poolclass=NullPool)
    try:
        return run_sql(engine, "SELECT status, error FROM runs")
    finally:
        engine.dispose()


@pytest.fixture
def closed_port() -> str:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts every connection and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize(
    ("case", "cause"),
    [
        ("closed_port", "connection refused"),
        ("unresolvable", "name does not resolve"),
        ("silent_server", "timeout: no complete answer within 8s"),
    ],
)
def test_unreachable_hub_fails_within_30s_in_one_line(case: str, cause: str, tmp_path: Path, request) -> None:
    url = "http://hub.hfsnap.invalid" if case == "unresolvable" else request.getfixturevalue(case)
    out, elapsed = _refresh(url, tmp_path)
    print(f"\n{case}: exit {out.returncode} after {elapsed:.1f}s: {out.stderr.strip()}")
    assert out.returncode == 1
    assert len(out.stderr.splitlines()) == 1 and "Traceback" not in out.stderr
    host = url.split("//", 1)[1]
    assert out.stderr.startswith(f"hfsnap refresh: cannot reach the Hub at {host}: {cause}")
    assert elapsed < 30
    ((status, error),) = _runs(tmp_path)
    assert status == "failed" and f"cannot reach the Hub at {host}: {cause}" in error


class DiesMidRun:
    """WSGI middleware: the fake hub answers `n` requests, then stops answering (hangs) or goes away (refuses)."""

    def __init__(self, app: Any, n: int, how: str) -> None:
        self.app, self.n, self.how = app, n, how
        self.count = 0
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.stop_server: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.lock:
            self.count += 1
            dead = self.count > self.n
        if dead and self.how == "hang":
            self.released.wait()  # the connection stays open and silent
        elif dead and self.count == self.n + 1:
            threading.Thread(target=self.stop_server, daemon=True).start()  # the listening socket closes
            self.released.wait(1.0)
        return self.app(environ, start_response)

    def close(self) -> None:
        self.released.set()
        self.app.close()


@pytest.mark.parametrize("how", ["refuse", "hang"])
def test_hub_that_dies_mid_run_ends_the_run_within_2_minutes(how: str, tmp_path: Path) -> None:
    app = DiesMidRun(make_app(generate_catalog(600, seed=3)), n=12, how=how)
    url, stop = start_in_thread(app)  # type: ignore[arg-type]  # any WSGI app serves; this one wraps the fake hub
    app.stop_server = stop
    config = tmp_path / "paged.toml"  # small pages: the run is many requests long when the Hub dies
    config.write_text((ROOT / "config.toml").read_text().replace("page_size = 1000", "page_size = 20"))
    try:
        out, elapsed = _refresh(url, tmp_path, config)
    finally:
        app.close()
        stop()
    print(f"\nmid-run {how}: exit {out.returncode} after {elapsed:.1f}s ({app.count} requests): {out.stderr.strip()}")
    assert app.count > 12, "the Hub should have answered the first requests"
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.splitlines()[-1].startswith("hfsnap refresh: the Hub stopped answering mid-run: ")
    assert elapsed < 120
    ((status, error),) = _runs(tmp_path)
    assert status == "failed" and "stopped answering" in error


def _drip_server(phase: str) -> tuple[str, Any]:
    """Answers HEAD at once; a GET gets its status line ("headers") or its body ("body") one byte every 0.3 s."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            request = conn.recv(65536)
            if request.startswith(b"HEAD"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                request = conn.recv(65536)  # keep-alive: the client's next request may come on this connection
                if not request:
                    return
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            drip = head + b"[" + b" " * 99_999 if phase == "headers" else b"[" + b" " * 99_999
            if phase == "body":
                conn.sendall(head)
            for i in range(len(drip)):
                if stop.wait(0.3):
                    return
                try:
                    conn.send(drip[i : i + 1])
                except OSError:
                    return

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                threading.Thread(target=handle, args=(server.accept()[0],), daemon=True).start()
            except TimeoutError:
                continue
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()

    def close() -> None:
        stop.set()
        server.close()

    return f"http://127.0.0.1:{server.getsockname()[1]}", close


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_slow_drip_server_is_cut_off_by_the_request_deadline(phase: str, tmp_path: Path) -> None:
    url, close = _drip_server(phase)
    config = tmp_path / "drip.toml"  # one listing, one retry, a 2 s deadline: each read still arrives within 0.3 s
    config.write_text(
        '[hub]\ntimeout_s = 5\nrequest_deadline_s = 2\nmax_retries = 1\n[[sources]]\nname = "one"\n'
        'inference_provider = "groq"\n'
    )
    try:
        out, elapsed = _refresh(url, tmp_path, config)
    finally:
        close()
    print(f"\ndrip ({phase}): exit {out.returncode} after {elapsed:.1f}s: {out.stderr.strip()}")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "no complete answer within 2s" in out.stderr.splitlines()[-1]
    assert elapsed < 60  # without the deadline, 100 kB at one byte per 0.3 s would take 8 hours
