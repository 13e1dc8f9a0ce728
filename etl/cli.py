"""Thin commands over the library; every EtlError becomes one clear line and the exit code of SPEC section 2."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy.exc import SQLAlchemyError

from . import __version__
from .config import Config, load_config
from .errors import EtlError, Terminated, UsageError, error_line
from .redaction import redact_urls

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger("hfsnap")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is now (tests and daemons swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def setup_logging(fmt: str, verbose: bool) -> None:
    handler = _StderrHandler()
    handler.setFormatter(
        _JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "alembic", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _config(args: argparse.Namespace) -> Config:
    config = load_config(getattr(args, "config", None))
    config = config.with_db(getattr(args, "db", None))
    return config.only_sources(getattr(args, "source", None) or [])


def _emit(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else render(data))


# ---- commands ---------------------------------------------------------------------------------


def cmd_refresh(args: argparse.Namespace) -> int:
    from .pipeline import run_once

    config = _config(args)
    bar = _progress_bar() if not args.json else None
    try:
        report = run_once(config, trigger=args.trigger, progress=bar.update_to if bar else None)
    finally:
        if bar:
            bar.close()
    _emit(report.as_dict(), args.json, _render_refresh)
    return report.exit_code


def _render_refresh(d: dict[str, Any]) -> str:
    lines = [
        f"run {d['run_id']}: {d['status']} in {d['requests']} requests ({d['started_at']} -> {d['finished_at']})",
        f"  models seen {d['models_seen']}, added {d['models_added']}, changed {d['models_changed']}, "
        f"removed {d['models_removed']}, restored {d['models_restored']}, rejects {d['rejects']}",
        f"  listings {d['listings']}: complete {d['listings_complete']}, capped {d['listings_capped']}, "
        f"failed {d['listings_failed']}",
    ]
    if d["estimated_unreached"]:
        lines.append(
            f"  capped partitions: about {d['estimated_unreached']} models estimated beyond reach (capture-recapture)"
        )
    lines += [f"  incomplete: {why}" for why in d["incomplete"][:20]]
    return "\n".join(lines)


def _progress_bar() -> Any:
    """A tqdm bar on a terminal; plain periodic log lines otherwise."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(unit=" models", desc="refresh", leave=False)
        bar.update_to = lambda n: bar.update(n - bar.n)  # type: ignore[attr-defined]  # the progress callback
        return bar

    class _Lines:
        def __init__(self) -> None:
            self.last = time.monotonic()

        def update_to(self, n: int) -> None:
            if time.monotonic() - self.last >= 10:
                log.info("refresh: %d models so far", n)
                self.last = time.monotonic()

        def close(self) -> None:
            pass

    return _Lines()


def _read_engine(args: argparse.Namespace) -> Any:
    """Read commands open an existing, migrated database and never write (exit 2 otherwise)."""
    from .db import open_existing

    return open_existing(_config(args).db.url)


def cmd_status(args: argparse.Namespace) -> int:
    from .queries import status

    engine = _read_engine(args)
    _emit(status(engine), args.json, _render_status)
    return 0


def _render_status(d: dict[str, Any]) -> str:
    lines = ["runs:"]
    for r in d["runs"]:
        lines.append(
            f"  #{r['run_id']} {r['started_at']} {r['status']:<8} {r['trigger']:<9} requests {r['requests']}, "
            f"seen {r['models_seen']}, "
            f"+{r['models_added']} ~{r['models_changed']} -{r['models_removed']}, "
            f"rejects {r['rejects']} ({r['reject_ratio']:.1%})" + (f"  ({r['error'][:100]})" if r["error"] else "")
        )
    if not d["runs"]:
        lines.append("  (none yet: run `hfsnap refresh`)")
    if d["last_run_sources"]:
        lines.append("last run, per source:")
        for s in d["last_run_sources"]:
            lines.append(
                f"  {s['source']:<28} {s['kind']:<9} listings {s['listings']}: complete {s['complete']}, "
                f"capped {s['capped']}, failed {s['failed']}; items {s['items']}"
            )
    lines.append("counts: " + ", ".join(f"{k} {v}" for k, v in d["counts"].items()))
    if d["db_size_bytes"] is not None:
        lines.append(f"database: {d['db_size_bytes'] / 1e6:.1f} MB")
    return "\n".join(lines)


def cmd_diff(args: argparse.Namespace) -> int:
    from .queries import changes, resolve_since

    engine = _read_engine(args)
    rows = changes(engine, resolve_since(engine, args.since))
    _emit(rows, args.json, _render_diff)
    return 0


def _render_diff(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no changes"
    out = []
    for r in rows:
        what = f"{r['model_id']}" + (f" [{r['provider']}]" if r["provider"] else "")
        detail = f": {r['before'] or '-'} -> {r['after'] or '-'}" if (r["before"] or r["after"]) else ""
        out.append(f"run {r['run_id']}  {r['change']:<16} {what}{detail}")
    return "\n".join(out)


def cmd_export(args: argparse.Namespace) -> int:
    import orjson

    from .queries import AsOf, export_records

    at = AsOf.parse(args.as_of)  # a bad date is exit 2 before the database is opened
    engine = _read_engine(args)
    out = sys.stdout.buffer
    if args.format == "openrouter":
        from .openrouter import iter_model_json, model_list_json

        out.writelines(model_list_json(iter_model_json(engine, at)))
    elif args.format == "jsonl":
        for record in export_records(engine, args.as_of):
            out.write(orjson.dumps(record) + b"\n")
    else:
        out.write(b"[")
        for i, record in enumerate(export_records(engine, args.as_of)):
            out.write((b",\n" if i else b"\n") + orjson.dumps(record))
        out.write(b"\n]\n")
    out.flush()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .db import describe_url, parse_url
    from .serve import serve

    config = _config(args)
    engine = _read_engine(args)
    log.info("serving %s read-only on http://%s:%d", describe_url(parse_url(config.db.url)), args.host, args.port)
    serve(engine, args.host, args.port, config.serve)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from .db import current, describe_url, make_engine, upgrade

    if args.action == "copy":
        return _db_copy(args)
    config = _config(args)
    if args.action == "current":
        return _db_current(config.db.url)
    if args.action == "backup":
        return _db_backup(config.db.url, args.path)
    engine = make_engine(config.db.url)
    if args.action in ("prune", "backup", "vacuum"):
        return _db_maintain(args, engine, config.history.keep_run_metrics_days)
    upgrade(engine)
    print(f"{describe_url(engine.url)}: revision {current(engine) or 'none'}")
    return 0


def _db_backup(url: str, path: str | None) -> int:
    """A copy of the SQLite file read through a read-only connection: a missing source is not created."""
    from .db import describe_url, open_read_only, parse_url
    from .maintenance import backup

    if not path:
        raise UsageError("db backup needs a PATH for the copy")
    engine = open_read_only(url)
    if engine is None:
        raise UsageError(f"no database at {describe_url(parse_url(url))}: nothing to back up")
    try:
        print(f"backup written to {backup(engine, path)}")
    finally:
        engine.dispose()
    return 0


def _db_current(url: str) -> int:
    """The schema revision, read-only: a missing SQLite file is `revision none` and is not created."""
    from .db import describe_url, head, open_read_only, parse_url, revision_of

    shown = describe_url(parse_url(url))
    engine = open_read_only(url)
    revision = None if engine is None else revision_of(engine, shown)
    if engine is not None:
        engine.dispose()
    behind = f" (this hfsnap needs {head()}: run hfsnap db upgrade)" if revision and revision != head() else ""
    print(f"{shown}: revision {revision or 'none'}{behind}")
    return 0


def _db_maintain(args: argparse.Namespace, engine: Engine, keep_days: int) -> int:
    from .db import upgrade
    from .lock import refresh_lock
    from .maintenance import prune, vacuum

    with refresh_lock(engine):  # never beside a refresh's merge
        upgrade(engine)
        if args.action == "prune":
            removed = prune(engine, keep_days)
            print(f"rolled up metrics older than {keep_days} days: {removed} rows removed")
        else:
            vacuum(engine)
            print("vacuumed")
    return 0


def _db_copy(args: argparse.Namespace) -> int:
    from .copy import copy_database

    if not (args.from_url and args.to_url):
        raise UsageError("db copy needs --from URL and --to URL")
    rows = copy_database(args.from_url, args.to_url, progress=lambda table, n: log.info("copied %s: %d rows", table, n))
    print(
        f"copied {sum(rows.values())} rows in {len(rows)} tables: "
        + ", ".join(f"{t} {n}" for t, n in rows.items() if n)
    )
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from .health import run_health

    config = _config(args)
    result = run_health(config, limit=args.limit, providers=args.provider or None)
    _emit(result.as_dict(), args.json, lambda d: result.render())
    return result.exit_code


def cmd_schedule(args: argparse.Namespace) -> int:
    from .schedule import run_daemon

    return run_daemon(_config(args))


def cmd_config(args: argparse.Namespace) -> int:
    from .showconfig import show_config

    flags = {("db", "url"): "--db"} if args.db else {}
    sys.stdout.write(show_config(_config(args), os.environ, flags))
    return 0


def cmd_browse(args: argparse.Namespace) -> int:
    from .browse import browse

    return browse(_config(args).db.url, args.host, args.port)


def cmd_fake_hub(args: argparse.Namespace) -> int:
    from .fakehub import generate_catalog, make_app, parse_fault, serve

    try:
        faults = [parse_fault(spec) for spec in args.fault or ()]
    except ValueError as exc:
        raise UsageError(f"--fault: {exc}") from None
    if args.models < 0:
        raise UsageError("--models must be >= 0")
    catalog = generate_catalog(args.models, seed=args.seed)
    app = make_app(catalog, mode=args.mode, latency_ms=args.latency_ms, faults=faults)
    serve(app, host=args.host, port=args.port)
    return 0


# ---- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", help="config.toml path (default: $HFSNAP_CONFIG, else ./config.toml, else built-in defaults)"
    )
    common.add_argument(
        "--log-format", choices=("plain", "json"), default="plain", help="json: one object per line, for journald"
    )
    common.add_argument("-v", "--verbose", action="store_true")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="a traceback on any error")
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", help="database URL (beats [db] url and $HFSNAP_DB_URL)")

    parser = argparse.ArgumentParser(prog="hfsnap", description="Snapshot the Hugging Face model catalog with history.")
    parser.add_argument("--version", action="version", version=f"hfsnap {__version__}")
    parser.add_argument("--debug", action="store_true", help="a traceback on any error (also after the command)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("refresh", parents=[common, db], help="one snapshot run: extract, transform, load")
    p.add_argument("--source", action="append", metavar="NAME", help="only this [[sources]] entry (repeatable)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.add_argument("--trigger", default="manual", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("schedule", parents=[common], help="long-running daemon: refresh and health on their cron lines")
    p.set_defaults(func=cmd_schedule)

    p = sub.add_parser("health", parents=[common, db], help="probe (model, provider) pairs through the router")
    p.add_argument("--limit", type=int, help="at most this many probes (default: [health] max_checks)")
    p.add_argument("--provider", action="append", metavar="P", help="only this provider (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_health)

    p = sub.add_parser("status", parents=[common, db], help="last runs, per-source completeness, counts, db size")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("diff", parents=[common, db], help="change feed since a run id or date")
    p.add_argument("--since", metavar="RUN_ID|ISO_DATE", help="default: the last run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("export", parents=[common, db], help="the catalog (as of a date) in the gateway schema")
    p.add_argument("--as-of", metavar="ISO_DATE")
    p.add_argument(
        "--format", choices=("jsonl", "json", "openrouter"), default="jsonl", help='openrouter: {"data": [...]}'
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("serve", parents=[common, db], help="read-only HTTP API: OpenRouter model list, changes, health")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8088)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "db",
        parents=[common, db],
        help="migrations (upgrade, current), copy one database into another, prune metrics, backup PATH, vacuum",
    )
    p.add_argument("action", choices=("upgrade", "current", "copy", "prune", "backup", "vacuum"))
    p.add_argument("path", nargs="?", help="backup: the new SQLite file to write")
    p.add_argument("--from", dest="from_url", metavar="URL", help="copy: the database to read (never modified)")
    p.add_argument("--to", dest="to_url", metavar="URL", help="copy: an empty database to fill (migrated first)")
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("config", parents=[common, db], help="the effective configuration, secrets redacted")
    p.add_argument("action", choices=("show",))
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("browse", parents=[common, db], help="the snapshot in Datasette (pip install 'hfsnap[browse]')")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.set_defaults(func=cmd_browse)

    p = sub.add_parser("fake-hub", parents=[common], help="the offline Hub + router emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    p.add_argument("--models", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", choices=("cursor", "capped"), default="cursor")
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--fault", action="append", metavar="SPEC", help="KIND[:key=value,...], repeatable (see README)")
    p.set_defaults(func=cmd_fake_hub)
    return parser


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C: the run row is marked failed, the lock released, exit 143."""
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_format, args.verbose)
    if args.command in ("refresh", "health") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)  # `schedule` has its own handler; the others just end
    try:
        return int(args.func(args) or 0)
    except EtlError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"hfsnap {args.command}: {redact_urls(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except SQLAlchemyError as exc:  # a database failure outside the run's own handling: still one line
        from .dberrors import database_error

        if args.debug:
            traceback.print_exc()
        error = database_error(exc, redact_urls(str(getattr(args, "db", None) or "the database")))
        print(f"hfsnap {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except Terminated:
        log.error("hfsnap %s: stopped by SIGTERM", args.command)
        return Terminated.exit_code
    except KeyboardInterrupt:
        print(f"hfsnap {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug or an unforeseen failure: one line, not a traceback, unless --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"hfsnap {args.command}: unexpected error: {_one_line(exc)} (--debug shows the traceback)", file=sys.stderr
        )
        return 1


def _one_line(exc: BaseException) -> str:
    """An exception as one line of text with any URL password hidden."""
    from .hub import resolve_token
    from .redaction import redact

    return redact(error_line(exc), resolve_token())


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
