"""Serve: `hfsnap serve` over a 100k-model snapshot: the model list now and as of a date, endpoints, peak RSS.

Targets (issue 11): /api/v1/models < 2 s, with ?as_of < 3 s, endpoints < 50 ms, server peak RSS < 300 MB.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from .common import PEAK_MARK, ROOT, child_refresh, cpu_seconds, fake_hub, table

MODELS = int(os.environ.get("HFSNAP_BENCH_MODELS", "100000"))
REPEAT = int(os.environ.get("HFSNAP_BENCH_REPEAT", "3"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, port: int) -> subprocess.Popen[str]:
    """`hfsnap serve` in a child that reports its own peak RSS when it stops (bench.peak)."""
    env = {**os.environ, "HFSNAP_CONFIG": str(ROOT / "config.toml")}
    env.pop("HF_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.peak", "serve", "--db", f"sqlite:///{db}", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise SystemExit(f"bench serve: the server exited: {err}") from None
            time.sleep(0.1)
    raise SystemExit("bench serve: the server did not answer within 60 s")


def stop_server(proc: subprocess.Popen[str]) -> float:
    """SIGINT (uvicorn's clean stop); the child's peak RSS in MB."""
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    peaks = [int(line.split()[1]) for line in err.splitlines() if line.startswith(PEAK_MARK)]
    if not peaks:
        raise SystemExit(f"bench serve: no peak RSS from the server (exit {proc.returncode}): {err[-500:]}")
    return peaks[-1] / 1024


@dataclass
class Timing:
    wall: float
    cpu: float  # the server's CPU seconds
    body: bytes


def timed_get(client: httpx.Client, path: str, pid: int) -> Timing:
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    response = client.get(path)
    seconds = time.perf_counter() - t0
    response.raise_for_status()
    return Timing(seconds, cpu_seconds(pid) - cpu0, response.content)


@dataclass
class Measured:
    now: list[Timing]
    past: list[Timing]
    ends: list[Timing]
    model_id: str
    peak_mb: float


def main() -> None:
    reuse = os.environ.get("HFSNAP_BENCH_SERVE_DB")  # an existing snapshot: skip the refresh (for profiling)
    with contextlib.ExitStack() as stack:
        if reuse:
            db, seconds = Path(reuse), 0.0
        else:
            url = stack.enter_context(fake_hub(MODELS))
            db = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "serve.db"
            seconds, code, _ = child_refresh(url, db)
            if code not in (0, 3):
                raise SystemExit(f"bench serve: the refresh exited {code}")
        measured = measure(db)
    report(seconds, measured)


def measure(db: Path) -> Measured:
    """Start the server on `db`, time the requests, stop it."""
    with sqlite3.connect(db) as conn:
        as_of = conn.execute("SELECT finished_at FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()[0]
        model_id = conn.execute(
            "SELECT model_id FROM model_providers WHERE valid_to IS NULL "
            "GROUP BY model_id ORDER BY COUNT(*) DESC, model_id LIMIT 1"
        ).fetchone()[0]
    port = free_port()
    server = start_server(db, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            now = [timed_get(client, "/api/v1/models", server.pid) for _ in range(REPEAT)]
            past = [timed_get(client, f"/api/v1/models?as_of={as_of}", server.pid) for _ in range(REPEAT)]
            client.get(f"/api/v1/models/{model_id}/endpoints")  # warm
            ends = [timed_get(client, f"/api/v1/models/{model_id}/endpoints", server.pid) for _ in range(20)]
    finally:
        peak = stop_server(server)
    return Measured(now, past, ends, model_id, peak)


def report(refresh_s: float, m: Measured) -> None:
    listed = len(orjson.loads(m.now[-1].body)["data"])
    listed_past = len(orjson.loads(m.past[-1].body)["data"])
    endpoints = len(orjson.loads(m.ends[-1].body)["data"]["endpoints"])
    size_mb = len(m.now[-1].body) / 1e6
    end_ms = [t.wall * 1000 for t in m.ends]
    end_cpu = [t.cpu * 1000 for t in m.ends]
    rows = [
        ("GET /api/v1/models", f"{_best(m.now):.2f} s", _all(m.now), _cpu(m.now), "2 s", listed),
        ("GET /api/v1/models?as_of", f"{_best(m.past):.2f} s", _all(m.past), _cpu(m.past), "3 s", listed_past),
        (
            "GET .../endpoints",
            f"{statistics.median(end_ms):.1f} ms",
            f"best {min(end_ms):.1f} ms",
            f"{statistics.mean(end_cpu):.1f} ms",
            "50 ms",
            endpoints,
        ),
        ("server peak RSS", f"{m.peak_mb:.0f} MB", "", "", "300 MB", ""),
    ]
    print(
        f"serve: {MODELS} models in the hub, refresh {refresh_s:.1f} s; {listed} listed models ({size_mb:.1f} MB of "
        f"JSON); endpoints of {m.model_id}; best of {REPEAT} for the lists, median of 20 for endpoints; server CPU "
        f"is the server process's own user+system time (best run; mean for endpoints), robust to a busy machine"
    )
    print(table(rows, ("request", "time", "all runs", "server CPU", "target", "records")))


def _best(runs: list[Timing]) -> float:
    return min(t.wall for t in runs)


def _all(runs: list[Timing]) -> str:
    return "/".join(f"{t.wall:.2f}" for t in runs)


def _cpu(runs: list[Timing]) -> str:
    return f"{min(t.cpu for t in runs):.2f} s"


if __name__ == "__main__":
    main()
