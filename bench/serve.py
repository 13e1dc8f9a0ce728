"""Serve: `hfsnap serve` over a 100k-model snapshot: the model list (now and as of a date), one endpoints call, peak RSS.

Targets (issue 11): /api/v1/models < 2 s, with ?as_of < 3 s, endpoints < 50 ms, server peak RSS < 300 MB.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from .common import PEAK_MARK, ROOT, child_refresh, fake_hub, table

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
                raise SystemExit(f"bench serve: the server exited: {proc.stderr.read() if proc.stderr else ''}")
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


def timed_get(client: httpx.Client, path: str) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    response = client.get(path)
    seconds = time.perf_counter() - t0
    response.raise_for_status()
    return seconds, response.content


def main() -> None:
    with fake_hub(MODELS) as url, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "serve.db"
        seconds, code, _ = child_refresh(url, db)
        if code not in (0, 3):
            raise SystemExit(f"bench serve: the refresh exited {code}")
        with sqlite3.connect(db) as conn:
            as_of = conn.execute("SELECT finished_at FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()[0]
            model_id, n_endpoints = conn.execute(
                "SELECT model_id, COUNT(*) FROM model_providers WHERE valid_to IS NULL "
                "GROUP BY model_id ORDER BY COUNT(*) DESC, model_id LIMIT 1"
            ).fetchone()
        port = free_port()
        server = start_server(db, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                now = [timed_get(client, "/api/v1/models") for _ in range(REPEAT)]
                past = [timed_get(client, f"/api/v1/models?as_of={as_of}") for _ in range(REPEAT)]
                client.get(f"/api/v1/models/{model_id}/endpoints")  # warm
                ends = [timed_get(client, f"/api/v1/models/{model_id}/endpoints") for _ in range(20)]
        finally:
            peak = stop_server(server)
    listed = len(orjson.loads(now[-1][1])["data"])
    listed_past = len(orjson.loads(past[-1][1])["data"])
    endpoints = len(orjson.loads(ends[-1][1])["data"]["endpoints"])
    size_mb = len(now[-1][1]) / 1e6
    rows = [
        ("GET /api/v1/models", f"{min(t for t, _ in now):.2f} s", _all(now), "2 s", listed),
        ("GET /api/v1/models?as_of", f"{min(t for t, _ in past):.2f} s", _all(past), "3 s", listed_past),
        (
            "GET .../endpoints",
            f"{statistics.median(t for t, _ in ends) * 1000:.1f} ms",
            f"best {min(t for t, _ in ends) * 1000:.1f} ms of 20",
            "50 ms",
            endpoints,
        ),
        ("server peak RSS", f"{peak:.0f} MB", "", "300 MB", ""),
    ]
    print(
        f"serve: {MODELS} models in the hub, refreshed in {seconds:.1f} s; {listed} listed models "
        f"({size_mb:.1f} MB of JSON); endpoints of {model_id}; best of {REPEAT} (median of 20 for endpoints)"
    )
    print(table(rows, ("request", "time", "all runs", "target", "records")))


def _all(runs: list[tuple[float, bytes]]) -> str:
    return "/".join(f"{t:.2f}" for t, _ in runs)


if __name__ == "__main__":
    main()
