"""Typed configuration from config.toml and the environment; ConfigError names the offending key."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from apscheduler.triggers.cron import CronTrigger

SORT_KEYS = ("downloads", "likes", "trendingScore", "createdAt", "lastModified")


@dataclass(frozen=True)
class HubConfig:
    """How to reach the Hub and the router."""

    endpoint: str = "https://huggingface.co"
    router: str = "https://router.huggingface.co"
    page_size: int = 1000  # the Hub serves at most 1000 per page
    concurrency: int = 4  # requests in flight
    timeout_s: float = 30.0  # per connect / read
    max_retries: int = 6  # 429 / 5xx / connection errors
    request_deadline_s: float = 300.0  # the whole exchange of one request, however slowly the bytes drip
    max_response_mb: float = 32.0  # a larger page is refused (pages are 1-3 MB); the streamed router list: 16x


@dataclass(frozen=True)
class DbConfig:
    """Where the snapshot lives."""

    url: str = "sqlite:///data/hf_catalog.db"


@dataclass(frozen=True)
class SourceConfig:
    """One listing source: a catalog source (no `top`) or a ranked `top` source."""

    name: str
    inference_provider: str | None = None  # "all", one id, or a comma list
    pipeline_tag: str | None = None
    author: str | None = None
    search: str | None = None
    filter: tuple[str, ...] = ()
    sorts: tuple[str, ...] = ()
    top: int | None = None

    @property
    def is_catalog(self) -> bool:
        """Catalog sources define membership; `top` sources only rank."""
        return self.top is None


@dataclass(frozen=True)
class HistoryConfig:
    """Retirement rules."""

    retire_after_misses: int = 2
    max_shrink: float = 0.5
    max_reject_ratio: float = 0.02  # a run rejecting a larger share of what it received ends partial (a shape change)
    keep_run_metrics_days: int = 30


@dataclass(frozen=True)
class HealthConfig:
    """Router probes."""

    max_checks: int = 200
    concurrency: int = 4
    timeout_s: float = 20.0
    providers: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotifyConfig:
    """Where a run reports itself; every key optional ("" = off), none ever receives the Hub token."""

    webhook_url: str = ""  # JSON POST after every run
    ping_url: str = ""  # healthchecks-style: <url>/start, <url> on complete, <url>/fail on failed or partial
    metrics_file: str = ""  # Prometheus textfile-collector file, rewritten atomically after every run
    timeout_s: float = 10.0  # per notification request: a slow receiver never holds the run up for longer


@dataclass(frozen=True)
class ScheduleConfig:
    """Cron lines for the daemon."""

    refresh_cron: str = "17 */6 * * *"
    health_cron: str = "47 * * * *"
    timezone: str = "UTC"


@dataclass(frozen=True)
class ServeConfig:
    """`hfsnap serve`."""

    stale_after_hours: float = 13.0  # /healthz answers 503 when the last complete run is older


DEFAULT_SOURCES = (
    SourceConfig(name="providers", inference_provider="all"),
    SourceConfig(
        name="popular-text-generation",
        pipeline_tag="text-generation",
        sorts=("downloads", "likes", "trendingScore"),
        top=1000,
    ),
)


@dataclass(frozen=True)
class Config:
    """The whole configuration; environment beats config.toml beats defaults."""

    hub: HubConfig = field(default_factory=HubConfig)
    db: DbConfig = field(default_factory=DbConfig)
    sources: tuple[SourceConfig, ...] = DEFAULT_SOURCES
    history: HistoryConfig = field(default_factory=HistoryConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    path: str | None = None  # the file it came from, for messages

    def with_db(self, url: str | None) -> Config:
        """This config with another database URL (a --db flag)."""
        return self if not url else replace(self, db=DbConfig(url=url))

    def only_sources(self, names: list[str]) -> Config:
        """This config restricted to the named sources (a --source flag)."""
        if not names:
            return self
        known = {s.name for s in self.sources}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(
                f"--source {unknown[0]!r}: no such source in [[sources]] (have: {', '.join(sorted(known))})"
            )
        return replace(self, sources=tuple(s for s in self.sources if s.name in names))


def _section(cls: type, data: Any, where: str) -> Any:
    """Build one frozen section from a TOML table, checking every key and type."""
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    allowed = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in allowed:
            raise ConfigError(f"{where}.{key}: unknown key (expected one of {', '.join(allowed)})")
        values[key] = _coerce(value, allowed[key].type, f"{where}.{key}")
    try:
        section = cls(**values)
    except TypeError as exc:  # a required key is missing
        raise ConfigError(f"[{where}]: {exc}") from None
    _validate(section, where)
    return section


def _coerce(value: Any, type_name: Any, key: str) -> Any:
    """Check a TOML value against the dataclass annotation (kept as a string by __future__)."""
    t = str(type_name)
    if t.startswith("tuple"):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return tuple(items)
    if t.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if t.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if t.startswith("str"):
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    return value


def _validate(section: Any, where: str) -> None:
    """Range checks that types alone cannot express."""
    checks: dict[str, bool] = {}
    if isinstance(section, HubConfig):
        checks = {
            "page_size": 1 <= section.page_size <= 1000,
            "concurrency": 1 <= section.concurrency <= 64,
            "timeout_s": section.timeout_s > 0,
            "max_retries": 0 <= section.max_retries <= 20,
            "request_deadline_s": section.request_deadline_s > 0,
            "max_response_mb": section.max_response_mb > 0,
            "endpoint": section.endpoint.startswith(("http://", "https://")),
            "router": section.router.startswith(("http://", "https://")),
        }
    elif isinstance(section, HistoryConfig):
        checks = {
            "retire_after_misses": section.retire_after_misses >= 1,
            "max_shrink": 0 <= section.max_shrink <= 1,
            "max_reject_ratio": 0 <= section.max_reject_ratio <= 1,
            "keep_run_metrics_days": section.keep_run_metrics_days >= 0,
        }
    elif isinstance(section, NotifyConfig):
        checks = {
            "webhook_url": section.webhook_url == "" or section.webhook_url.startswith(("http://", "https://")),
            "ping_url": section.ping_url == "" or section.ping_url.startswith(("http://", "https://")),
            "timeout_s": section.timeout_s > 0,
        }
    elif isinstance(section, HealthConfig):
        checks = {
            "max_checks": section.max_checks >= 0,
            "concurrency": section.concurrency >= 1,
            "timeout_s": section.timeout_s > 0,
        }
    elif isinstance(section, SourceConfig):
        bad_sort = [s for s in section.sorts if s not in SORT_KEYS]
        checks = {
            "sorts": not bad_sort,
            "top": section.top is None or 1 <= section.top <= 100_000,
            "name": bool(section.name.strip()),
        }
    elif isinstance(section, ScheduleConfig):
        checks = {
            "refresh_cron": _accepts(cron_trigger, section.refresh_cron),
            "health_cron": _accepts(cron_trigger, section.health_cron),
            "timezone": _accepts(time_zone, section.timezone),
        }
    elif isinstance(section, ServeConfig):
        checks = {"stale_after_hours": section.stale_after_hours > 0}
    for key, ok in checks.items():
        if not ok:
            raise ConfigError(f"{where}.{key}: invalid value {getattr(section, key)!r}")


def _accepts(parse: Callable[[str], object], value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def time_zone(name: str) -> ZoneInfo:
    """An IANA time zone by name; ValueError if there is none of that name."""
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def cron_trigger(line: str, tz: tzinfo | str = "UTC") -> CronTrigger:
    """Five crontab fields as APScheduler's trigger; ValueError says what is wrong with them."""
    from apscheduler.triggers.cron import CronTrigger

    if len(line.split()) != 5:
        raise ValueError(f"{len(line.split())} fields, expected 5")
    try:
        return CronTrigger.from_crontab(line, timezone=tz)
    except KeyError as exc:
        raise ValueError(str(exc)) from None


def load_config(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Config:
    """Read config.toml (or defaults) and apply the environment on top."""
    env = dict(os.environ) if env is None else env
    chosen = path or env.get("HFSNAP_CONFIG")
    if chosen is None and Path("config.toml").is_file():
        chosen = "config.toml"
    data: dict[str, Any] = {}
    if chosen is not None:
        try:
            data = tomllib.loads(Path(chosen).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {chosen}") from None
        except IsADirectoryError:
            raise ConfigError(f"config file {chosen} is a directory: pass a config.toml file") from None
        except PermissionError:
            raise ConfigError(f"config file {chosen} is not readable: fix its permissions") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {chosen} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
        except OSError as exc:
            raise ConfigError(f"config file {chosen}: cannot read it ({exc.strerror or exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen}: not valid TOML ({exc})") from None
    config = _from_dict(data, str(chosen) if chosen else None)
    return _apply_env(config, env)


def _from_dict(data: dict[str, Any], path: str | None) -> Config:
    """Build a Config from parsed TOML."""
    sections = {
        "hub": HubConfig,
        "db": DbConfig,
        "history": HistoryConfig,
        "health": HealthConfig,
        "schedule": ScheduleConfig,
        "notify": NotifyConfig,
        "serve": ServeConfig,
    }
    unknown = [k for k in data if k not in sections and k != "sources"]
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section (expected {', '.join([*sections, 'sources'])})")
    values: dict[str, Any] = {name: _section(cls, data.get(name, {}), name) for name, cls in sections.items()}
    if "sources" in data:
        raw = data["sources"]
        if not isinstance(raw, list) or not raw:
            raise ConfigError("sources: expected one or more [[sources]] tables")
        sources = tuple(_section(SourceConfig, s, f"sources[{i}]") for i, s in enumerate(raw))
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ConfigError("sources: source names must be unique")
        values["sources"] = sources
    return Config(**values, path=path)


def _apply_env(config: Config, env: dict[str, str]) -> Config:
    """Environment variables beat config.toml."""
    hub = config.hub
    if env.get("HF_ENDPOINT"):
        hub = replace(hub, endpoint=env["HF_ENDPOINT"].rstrip("/"))
    if env.get("HFSNAP_ROUTER_URL"):
        hub = replace(hub, router=env["HFSNAP_ROUTER_URL"].rstrip("/"))
    for key, value in (("HF_ENDPOINT", hub.endpoint), ("HFSNAP_ROUTER_URL", hub.router)):
        if not value.startswith(("http://", "https://")):
            raise ConfigError(f"{key}: expected an http(s) URL, got {value!r}")
    db = DbConfig(url=env["HFSNAP_DB_URL"]) if env.get("HFSNAP_DB_URL") else config.db
    return replace(config, hub=hub, db=db)
