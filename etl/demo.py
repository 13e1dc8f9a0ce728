"""`make demo`: start the offline fake Hub on loopback, refresh into data/demo.db against it, print the summary."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

_URL = re.compile(r"http://127\.0\.0\.1:\d+")


def start_fake_hub(
    models: int, latency_ms: int, seed: int = 0, mode: str = "cursor", extra: list[str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """`hfsnap fake-hub` in its own process (its own core); returns it and its URL once it listens."""
    cmd = [
        sys.executable,
        "-m",
        "etl",
        "fake-hub",
        "--port",
        "0",
        "--models",
        str(models),
        "--seed",
        str(seed),
        "--latency-ms",
        str(latency_ms),
        "--mode",
        mode,
        *(extra or []),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = _URL.search(line)
        if match:
            return proc, match.group(0)
    proc.kill()
    raise SystemExit(f"demo: the fake hub did not start ({' '.join(cmd)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.demo")
    parser.add_argument("--models", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--db", default="data/demo.db")
    parser.add_argument("--mode", choices=("cursor", "capped"), default="cursor")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    hub, url = start_fake_hub(args.models, args.latency_ms, mode=args.mode)
    started = time.monotonic()
    print(
        f"demo: fake hub with {args.models} models at {url} (mode {args.mode}, {args.latency_ms} ms latency), "
        f"up in {started - t0:.1f}s"
    )
    env = {
        **os.environ,
        "HF_ENDPOINT": url,
        "HFSNAP_ROUTER_URL": url,
        "HF_TOKEN": "hf_offline_demo_token",
        "HFSNAP_CONFIG": os.environ.get("HFSNAP_CONFIG", "config.toml"),
    }
    try:
        code = subprocess.call([sys.executable, "-m", "etl", "refresh", "--db", f"sqlite:///{args.db}"], env=env)
    finally:
        hub.terminate()
        hub.wait(timeout=10)
    print(
        f"demo: refresh exited {code} in {time.monotonic() - started:.1f}s (wall, hub start excluded); "
        f"database {args.db}"
    )
    print(f"demo: try  sqlite3 {args.db} 'SELECT id, context_length, pricing_prompt, providers FROM catalog LIMIT 5'")
    return code


if __name__ == "__main__":
    sys.exit(main())
