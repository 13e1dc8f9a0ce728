"""`make bench` / `python -m bench [coverage|demo|history|load|memory|serve]...`: every benchmark, or the ones named."""

from __future__ import annotations

import sys
import time

from . import coverage, demo, history, load, memory, serve

BENCHES = {
    "coverage": coverage.main,
    "demo": demo.main,
    "history": history.main,
    "load": load.main,
    "memory": memory.main,
    "serve": serve.main,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown bench {unknown[0]!r}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    for name in names:
        t0 = time.perf_counter()
        print(f"\n=== {name} ===", flush=True)
        BENCHES[name]()
        print(f"({name}: {time.perf_counter() - t0:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
