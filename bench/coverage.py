"""Coverage and requests: hfsnap vs the old approach (two top-1000 sorts) vs the lower bound, capped and cursor hubs."""

from __future__ import annotations

import math
import sqlite3
import tempfile
from pathlib import Path

import httpx

from etl.fakehub import generate_catalog
from etl.pipeline import run_once

from .common import bench_config, fake_hub, runs_row, table

MODELS = 5000


def old_approach(url: str, provider: str) -> set[str]:
    """What a popular backend did: top 1000 by likes + top 1000 by downloads for one provider, no cursor."""
    got: set[str] = set()
    with httpx.Client(timeout=60) as client:
        for sort in ("likes", "downloads"):
            r = client.get(f"{url}/api/models", params={"inference_provider": provider, "limit": 1000, "sort": sort, "full": "true"})
            got |= {m["id"] for m in r.json()}
    return got


def main() -> None:
    catalog = generate_catalog(MODELS, seed=0)
    served = catalog.served_ids()
    per_provider: dict[str, int] = {}
    for model_id in served:
        for m in catalog.models[model_id]["inferenceProviderMapping"]:
            per_provider[m["provider"]] = per_provider.get(m["provider"], 0) + 1
    lower = sum(math.ceil(n / 1000) for n in per_provider.values())
    rows = []
    for mode in ("cursor", "capped"):
        with fake_hub(MODELS, mode=mode) as url, tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "cov.db"
            report = run_once(bench_config(url, db), token="hf_bench")
            with sqlite3.connect(db) as conn:
                listed = {r[0] for r in conn.execute("SELECT model_id FROM models WHERE listed = 1")}
                capped = conn.execute("SELECT COUNT(*) FROM run_sources WHERE capped = 1").fetchone()[0]
            requests = runs_row(db)["requests"]
            old = old_approach(url, "hf-inference")
            rows.append((mode, "hfsnap", f"{len(listed & served)}/{len(served)}", f"{len(listed & served) / len(served):.1%}",
                         requests, f"{requests / lower:.2f}x", f"{report.status}, {capped} capped listings"))
            rows.append((mode, "old (likes+downloads top 1000, hf-inference)", f"{len(old & served)}/{len(served)}",
                         f"{len(old & served) / len(served):.1%}", 2, "-", f"{len(old)} of hf-inference's {per_provider['hf-inference']}"))
    print(f"coverage: {MODELS} models, {len(served)} provider-served, {len(per_provider)} providers; lower bound sum(ceil(n/1000)) = {lower} requests")
    print(table(rows, ("hub", "approach", "reached", "coverage", "requests", "vs bound", "note")))


if __name__ == "__main__":
    main()
