"""`python -m etl.fakehub`: generate a catalog and serve it on loopback until interrupted."""

from __future__ import annotations

import argparse
import sys
import time

from . import generate_catalog, make_app, parse_fault, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.fakehub", description=__doc__)
    parser.add_argument("--models", type=int, default=5000, help="catalog size (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=("cursor", "capped"), default="cursor")
    parser.add_argument("--page-max", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--token", default=None, help="require exactly this hf_ token (default: any hf_ token)")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC", help="e.g. status:code=503,times=2")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        faults = [parse_fault(spec) for spec in args.fault]
    except ValueError as exc:
        parser.error(str(exc))
    started = time.perf_counter()
    catalog = generate_catalog(args.models, args.seed)
    print(f"generated {args.models} models in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    app = make_app(
        catalog, mode=args.mode, page_max=args.page_max, latency_ms=args.latency_ms, faults=faults, token=args.token
    )
    serve(app, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
