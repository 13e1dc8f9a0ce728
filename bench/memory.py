"""Peak memory of a refresh (its own process: VmHWM, see bench.peak) at 100,000 and 1,000,000 models."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .common import child_refresh, fake_hub, runs_row, table

SIZES = tuple(int(s) for s in os.environ.get("HFSNAP_BENCH_MEMORY_SIZES", "100000,1000000").split(","))


def main() -> None:
    rows = []
    for models in SIZES:
        with fake_hub(models) as url, tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "mem.db"
            for label in ("first", "re-run"):
                seconds, code, peak = child_refresh(url, db, "--source", "providers")
                run = runs_row(db)
                rows.append(
                    (
                        models,
                        label,
                        run["models_seen"],
                        f"{seconds:.1f}s",
                        code,
                        f"{peak:.0f} MB",
                        "300 MB",
                        "ok" if peak < 300 else "MISSED",
                    )
                )
    print(
        "memory: peak RSS of `hfsnap refresh --source providers` in its own process (first run, then unchanged re-run)"
    )
    print(table(rows, ("hub models", "run", "models seen", "time", "exit", "peak RSS", "target", "")))


if __name__ == "__main__":
    main()
