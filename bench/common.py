"""Shared bench helpers: a fake hub in its own process, timed refreshes, peak memory of a child process."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from etl.config import Config, SourceConfig
from etl.demo import start_fake_hub

from .peak import MARK as PEAK_MARK

ROOT = Path(__file__).resolve().parent.parent
CATALOG_ONLY = (SourceConfig(name="providers", inference_provider="all"),)


@contextlib.contextmanager
def fake_hub(
    models: int, mode: str = "cursor", latency_ms: int = 0, seed: int = 0, pids: list[int] | None = None
) -> Iterator[str]:
    """A fake hub process serving `models`; its pid is appended to `pids` (for its CPU time) if given."""
    proc, url = start_fake_hub(models, latency_ms, seed=seed, mode=mode)
    if pids is not None:
        pids.append(proc.pid)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time so far (user + system) of this process (every thread), or of process `pid` (from /proc)."""
    if pid is None:
        return time.process_time()
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_config(url: str, db: Path, catalog_only: bool = True) -> Config:
    hub = replace(Config().hub, endpoint=url, router=url)
    config = replace(Config(), hub=hub).with_db(f"sqlite:///{db}")
    return replace(config, sources=CATALOG_ONLY) if catalog_only else config


def child_refresh(url: str, db: Path, *args: str) -> tuple[float, int, float]:
    """`hfsnap refresh` in a child: (seconds, exit code, peak RSS in MB of that child alone, from bench.peak)."""
    env = {
        **os.environ,
        "HF_ENDPOINT": url,
        "HFSNAP_ROUTER_URL": url,
        "HF_TOKEN": "hf_bench",
        "HFSNAP_CONFIG": str(ROOT / "config.toml"),
    }
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.peak", "refresh", "--db", f"sqlite:///{db}", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    seconds = time.perf_counter() - t0
    lines = done.stderr.strip().splitlines()
    peaks = [int(line.split()[1]) for line in lines if line.startswith(PEAK_MARK)]
    if done.returncode not in (0, 3):
        print("   child stderr:", next((line for line in reversed(lines) if not line.startswith(PEAK_MARK)), ""))
    if not peaks:
        raise SystemExit(f"bench: the child printed no peak RSS (exit {done.returncode})")
    return seconds, done.returncode, peaks[-1] / 1024


def runs_row(db: Path, run_id: int | None = None) -> dict:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        sql = "SELECT * FROM runs WHERE run_id = ?" if run_id else "SELECT * FROM runs ORDER BY run_id DESC LIMIT 1"
        row = conn.execute(sql, (run_id,) if run_id else ()).fetchone()
        return dict(row)


def table(rows: list[tuple], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=False))  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])
