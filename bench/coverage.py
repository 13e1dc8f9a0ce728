"""Coverage and requests: hfsnap vs the old approach (two top-1000 sorts) vs the lower bound, capped and cursor hubs."""

from __future__ import annotations

import math
import sqlite3
import tempfile
from pathlib import Path

import httpx

from etl.fakehub import generate_catalog
from etl.hub import HubClient
from etl.pipeline import run_once

from .common import bench_config, fake_hub, runs_row, table

MODELS = 5000


def old_approach(url: str, provider: str) -> set[str]:
    """What a popular backend did: top 1000 by likes + top 1000 by downloads for one provider, no cursor."""
    got: set[str] = set()
    with httpx.Client(timeout=60) as client:
        for sort in ("likes", "downloads"):
            r = client.get(
                f"{url}/api/models",
                params={"inference_provider": provider, "limit": 1000, "sort": sort, "full": "true"},
            )
            got |= {m["id"] for m in r.json()}
    return got


def filter_bound(models: list[dict]) -> int:
    """Fewest listings of a partition by task and num_parameters range that covers one provider, each under the cap.

    A model without a parameter count is outside every num_parameters range, so only its task's listing reaches it
    (the API cannot OR tasks, nor select "no parameter count"): every task holding such a model costs a listing;
    models with a count that those tasks leave out take ranges of up to 1000. One listing if the provider fits.
    """
    if len(models) <= 1000:
        return 1
    tasks = {m.get("pipeline_tag") for m in models if not (m.get("safetensors") or {}).get("total")}
    if None in tasks:
        return math.inf  # type: ignore[return-value]  # no filter reaches a model with neither: only sort samples do
    rest = sum(1 for m in models if m.get("pipeline_tag") not in tasks)
    return len(tasks) + math.ceil(rest / 1000)


def main() -> None:
    catalog = generate_catalog(MODELS, seed=0)
    served = catalog.served_ids()
    by_provider: dict[str, list[dict]] = {}
    for model_id in served:
        for m in catalog.models[model_id]["inferenceProviderMapping"]:
            by_provider.setdefault(m["provider"], []).append(catalog.models[model_id])
    per_provider = {p: len(ms) for p, ms in by_provider.items()}
    lower = sum(math.ceil(n / 1000) for n in per_provider.values())
    bound = sum(filter_bound(ms) for ms in by_provider.values())
    rows = []
    for mode in ("cursor", "capped"):
        with fake_hub(MODELS, mode=mode) as url, tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "cov.db"
            config = bench_config(url, db)
            with HubClient(config.hub, token="hf_bench") as client:
                report = run_once(config, client)
            with sqlite3.connect(db) as conn:
                listed = {r[0] for r in conn.execute("SELECT model_id FROM models WHERE listed = 1")}
                capped = conn.execute("SELECT COUNT(*) FROM run_sources WHERE capped = 1").fetchone()[0]
            requests = runs_row(db)["requests"]
            old = old_approach(url, "hf-inference")
            rows.append(
                (
                    mode,
                    "hfsnap",
                    f"{len(listed & served)}/{len(served)}",
                    f"{len(listed & served) / len(served):.1%}",
                    requests,
                    f"{requests / lower:.2f}x",
                    f"{requests / bound:.2f}x" if mode == "capped" else "-",
                    f"{report.status}, {capped} capped listings",
                )
            )
            rows.append(
                (
                    mode,
                    "old (likes+downloads top 1000, hf-inference)",
                    f"{len(old & served)}/{len(served)}",
                    f"{len(old & served) / len(served):.1%}",
                    2,
                    "-",
                    "-",
                    f"{len(old)} of hf-inference's {per_provider['hf-inference']}",
                )
            )
    big = {p: n for p, n in per_provider.items() if n > 1000}
    print(
        f"coverage: {MODELS} models, {len(served)} provider-served, {len(per_provider)} providers "
        f"({big} over the cap); "
        f"ideal bound sum(ceil(n/1000)) = {lower} requests; "
        f"task/range bound (a partition by task and parameter range) = {bound}"
    )
    print(table(rows, ("hub", "approach", "reached", "coverage", "requests", "vs ideal", "vs task/range", "note")))


if __name__ == "__main__":
    main()
