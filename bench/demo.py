"""`make demo`: 5,000 models, 20 ms latency per request, the full default config (catalog and top sources)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .common import child_refresh, fake_hub, runs_row, table

MODELS, LATENCY_MS = 5000, 20


def main() -> None:
    with fake_hub(MODELS, latency_ms=LATENCY_MS) as url, tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        seconds, code, peak = child_refresh(url, db)
        run = runs_row(db)
    rows = [
        (
            f"{MODELS} models, {LATENCY_MS} ms",
            f"{seconds:.2f}s",
            "10s",
            f"{seconds / 10:.2f}x",
            code,
            run["requests"],
            run["models_seen"],
            f"{peak:.0f} MB",
        )
    ]
    print("demo: `hfsnap refresh` as make demo runs it (process start included, hub start excluded)")
    print(table(rows, ("catalog", "time", "target", "of target", "exit", "requests", "models seen", "peak RSS")))


if __name__ == "__main__":
    main()
