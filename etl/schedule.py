"""The daemon: APScheduler 3 runs refresh and health on their cron lines until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from .config import Config, cron_trigger, time_zone
from .db import make_engine, upgrade
from .errors import ConfigError, EtlError, LockBusy, UsageError

log = logging.getLogger("hfsnap.schedule")

MISFIRE_GRACE_S = 600  # a job late by up to 10 minutes (a suspended laptop, a slow start) still runs once


def build_scheduler(
    config: Config,
    refresh: Callable[[], Any] | None = None,
    health: Callable[[], Any] | None = None,
    scheduler: BaseScheduler | None = None,
) -> BaseScheduler:
    """A BlockingScheduler (or the one given) with the `refresh` and `health` jobs; not started."""
    tz = _timezone(config.schedule.timezone)
    triggers = {
        "refresh": _trigger(config.schedule.refresh_cron, tz, "schedule.refresh_cron"),
        "health": _trigger(config.schedule.health_cron, tz, "schedule.health_cron"),
    }
    jobs = {"refresh": refresh or (lambda: _refresh(config)), "health": health or (lambda: _health(config))}
    scheduler = scheduler or BlockingScheduler(timezone=tz)
    for name, trigger in triggers.items():
        scheduler.add_job(
            guarded(name, jobs[name]),
            trigger,
            id=name,
            name=name,
            max_instances=1,  # never two refreshes at once from this daemon (the file lock covers other processes)
            coalesce=True,  # runs missed while one was in flight collapse into one
            misfire_grace_time=MISFIRE_GRACE_S,
        )
    return scheduler


def run_daemon(config: Config) -> int:
    """Run until SIGTERM/SIGINT; the job in flight finishes first. Returns 0 after a clean stop."""
    scheduler = build_scheduler(config)
    migrate(config)
    return serve(scheduler)


def migrate(config: Config) -> None:
    """Bring the database to head once, before any job: jobs due in the same minute would race to create it."""
    engine = make_engine(config.db.url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def serve(scheduler: BaseScheduler) -> int:
    """Start a blocking scheduler that stops gracefully on SIGTERM/SIGINT; restore the old handlers after."""
    stopper: list[threading.Thread] = []
    previous: dict[int, Any] = {}

    def on_signal(signum: int, _frame: Any) -> None:
        if stopper:
            log.warning("%s again: still waiting for the job in flight to finish", signal.Signals(signum).name)
            return
        log.info("%s: stopping after the job in flight (if any) finishes", signal.Signals(signum).name)
        # shutdown(wait=True) blocks until running jobs end; a handler must not block the main loop it interrupts.
        stopper.append(threading.Thread(target=_shutdown, args=(scheduler,), name="hfsnap-stop"))
        stopper[0].start()

    def on_started(_event: Any) -> None:
        # Installed only once the scheduler runs (this listener runs in start()'s thread, the main one), so a
        # signal can never arrive at a scheduler that is not running yet and be lost.
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)
        _log_next_runs(scheduler)

    scheduler.add_listener(on_started, EVENT_SCHEDULER_STARTED)
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for thread in stopper:
        thread.join()
    log.info("scheduler stopped")
    return 0


def guarded(name: str, job: Callable[[], Any]) -> Callable[[], None]:
    """The job, with every failure logged instead of raised: a failing run must never stop the daemon."""

    def run() -> None:
        log.info("%s: starting", name)
        try:
            outcome = job()
        except LockBusy as exc:
            log.warning("%s: skipped, another refresh is running (%s)", name, exc)
        except UsageError as exc:  # e.g. no token for health: the operator must act, the daemon goes on
            log.warning("%s: skipped: %s", name, exc)
        except EtlError as exc:
            log.error("%s: failed: %s", name, exc)
        except Exception as exc:  # the message says what happened even where a log format drops tracebacks
            log.exception("%s: crashed: %s: %s", name, type(exc).__name__, exc)
        else:
            log.info("%s: finished (%s)", name, _describe(outcome))

    run.__name__ = f"hfsnap_{name}"
    return run


def _refresh(config: Config) -> str:
    from .pipeline import run_once

    report = run_once(config, trigger="schedule")
    return f"run {report.run_id} {report.status}, exit code {report.exit_code}"


def _health(config: Config) -> str:
    from .health import run_health

    result = run_health(config)
    if result.error:  # the probes ran but their rows were not saved
        raise EtlError(result.error)
    return ", ".join(f"{outcome} {n}" for outcome, n in result.counts().items()) or "nothing to check"


def _describe(outcome: Any) -> str:
    return outcome if isinstance(outcome, str) else repr(outcome)


def _timezone(name: str) -> ZoneInfo:
    try:
        return time_zone(name)
    except ValueError:
        raise ConfigError(
            f"schedule.timezone: unknown time zone {name!r} (expected an IANA name such as UTC or Europe/Paris)"
        ) from None


def _trigger(line: str, tz: ZoneInfo, key: str) -> CronTrigger:
    try:
        return cron_trigger(line, tz)
    except ValueError as exc:
        raise ConfigError(f"{key}: invalid crontab line {line!r} ({exc})") from None


def _shutdown(scheduler: BaseScheduler) -> None:
    try:
        scheduler.shutdown(wait=True)
    except SchedulerNotRunningError:  # the signal came before start() or after the scheduler stopped
        pass


def _log_next_runs(scheduler: BaseScheduler) -> None:
    for job in scheduler.get_jobs():
        log.info("%s: next run at %s", job.id, job.next_run_time.isoformat() if job.next_run_time else "never")
