"""The scheduler daemon (etl.schedule) and the deploy/ units that are its alternative."""

from __future__ import annotations

import configparser
import dataclasses
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from etl.config import Config, ScheduleConfig
from etl.errors import ConfigError, LockBusy
from etl.schedule import build_scheduler, serve

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
FAR_AWAY = "0 0 1 1 *"  # once a year: never fires during a test


def _config(refresh_cron: str = "17 */6 * * *", health_cron: str = "47 * * * *", tz: str = "UTC") -> Config:
    return dataclasses.replace(
        Config(), schedule=ScheduleConfig(refresh_cron=refresh_cron, health_cron=health_cron, timezone=tz)
    )


def _fields(trigger: CronTrigger) -> dict[str, str]:
    return {f.name: str(f) for f in trigger.fields}


def _noop() -> None:
    return None


# ---- jobs --------------------------------------------------------------------------------------


def test_jobs_follow_the_configured_cron_lines_and_timezone() -> None:
    scheduler = build_scheduler(_config(tz="Europe/Paris"), refresh=_noop, health=_noop)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"refresh", "health"}
    assert _fields(jobs["refresh"].trigger) == {
        "year": "*",
        "month": "*",
        "day": "*",
        "week": "*",
        "day_of_week": "*",
        "hour": "*/6",
        "minute": "17",
        "second": "0",
    }
    assert _fields(jobs["health"].trigger)["minute"] == "47" and _fields(jobs["health"].trigger)["hour"] == "*"
    assert jobs["refresh"].trigger.timezone == ZoneInfo("Europe/Paris")
    assert not scheduler.running


def test_jobs_never_overlap_and_coalesce_missed_runs() -> None:
    for job in build_scheduler(_config(), refresh=_noop, health=_noop).get_jobs():
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 600)


@pytest.mark.parametrize(
    "key, value", [("refresh_cron", "61 * * * *"), ("health_cron", "* * * * mon-xyz"), ("refresh_cron", "*/0 * * * *")]
)
def test_bad_cron_line_names_its_key(key: str, value: str) -> None:
    config = dataclasses.replace(Config(), schedule=dataclasses.replace(ScheduleConfig(), **{key: value}))
    with pytest.raises(ConfigError, match=f"schedule.{key}"):
        build_scheduler(config)


def test_bad_timezone_names_its_key() -> None:
    with pytest.raises(ConfigError, match="schedule.timezone"):
        build_scheduler(_config(tz="Mars/Olympus_Mons"))


def test_a_crashing_job_is_logged_and_returns(caplog: pytest.LogCaptureFixture) -> None:
    job = build_scheduler(_config(), refresh=lambda: 1 / 0, health=_noop).get_job("refresh")
    with caplog.at_level(logging.INFO, logger="hfsnap.schedule"):
        assert job.func() is None
    crash = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert crash and "refresh: crashed" in crash[0].getMessage() and crash[0].exc_info[0] is ZeroDivisionError


def test_a_busy_lock_is_only_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    def busy() -> None:
        raise LockBusy("another refresh holds data/x.db.lock (pid 1 on h)")

    job = build_scheduler(_config(), refresh=busy, health=_noop).get_job("refresh")
    with caplog.at_level(logging.INFO, logger="hfsnap.schedule"):
        job.func()
    assert [r.levelno for r in caplog.records if "another refresh" in r.getMessage()] == [logging.WARNING]


def test_health_job_without_token_warns_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # huggingface_hub finds no token file there
    config = _config().with_db(f"sqlite:///{tmp_path / 'h.db'}")
    job = build_scheduler(config, refresh=_noop).get_job("health")
    with caplog.at_level(logging.INFO, logger="hfsnap.schedule"):
        job.func()
        job.func()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("no Hugging Face token" in r.getMessage() for r in warnings)


def test_a_failing_job_leaves_the_scheduler_running() -> None:
    ran = threading.Event()

    def boom() -> None:
        ran.set()
        raise RuntimeError("the Hub is on fire")

    scheduler = build_scheduler(
        _config(refresh_cron=FAR_AWAY, health_cron=FAR_AWAY),
        refresh=boom,
        health=_noop,
        scheduler=BackgroundScheduler(timezone="UTC"),
    )
    scheduler.modify_job("refresh", next_run_time=datetime.now(UTC))  # due at once
    scheduler.start()
    try:
        assert ran.wait(5)
        time.sleep(0.1)  # let the executor finish the wrapped call
        assert scheduler.running
        assert scheduler.get_job("refresh").next_run_time.year >= datetime.now().year  # rescheduled, not dropped
    finally:
        scheduler.shutdown(wait=True)


# ---- the daemon --------------------------------------------------------------------------------


def test_sigterm_lets_the_job_in_flight_finish_then_returns_0(caplog: pytest.LogCaptureFixture) -> None:
    started, finished = threading.Event(), threading.Event()

    def slow_refresh() -> None:
        started.set()
        time.sleep(0.5)
        finished.set()

    scheduler = build_scheduler(
        _config(refresh_cron=FAR_AWAY, health_cron=FAR_AWAY), refresh=slow_refresh, health=_noop
    )
    scheduler.modify_job("refresh", next_run_time=datetime.now(UTC))

    def terminate() -> None:
        started.wait(30)
        os.kill(os.getpid(), signal.SIGTERM)
        if not stopped.wait(30):  # a watchdog: fail rather than hang the suite
            scheduler.shutdown(wait=False)

    stopped = threading.Event()
    threading.Thread(target=terminate, daemon=True).start()
    before = signal.getsignal(signal.SIGTERM)
    with caplog.at_level(logging.INFO, logger="hfsnap.schedule"):
        assert serve(scheduler) == 0
    stopped.set()
    assert started.is_set() and finished.is_set()
    assert any(r.getMessage().startswith("SIGTERM: stopping") for r in caplog.records)
    assert signal.getsignal(signal.SIGTERM) is before  # the daemon's handlers do not outlive it


def test_daemon_process_exits_0_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[db]\nurl = "sqlite:///{tmp_path / "d.db"}"\n\n'
        f'[schedule]\nrefresh_cron = "{FAR_AWAY}"\nhealth_cron = "{FAR_AWAY}"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl", "schedule", "--config", str(config)],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _read_until(proc, ["refresh: next run at", "health: next run at"], timeout_s=20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
    with sqlite3.connect(
        tmp_path / "d.db"
    ) as conn:  # migrated once at start: same-minute jobs cannot race to create it
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)


def _read_until(proc: subprocess.Popen, needles: list[str], timeout_s: float) -> None:
    """Read stderr until every needle was seen (in a thread, so a silent process cannot hang the test)."""
    lines: list[str] = []
    found = threading.Event()

    def pump() -> None:
        for line in proc.stderr:
            lines.append(line)
            if all(any(n in seen for seen in lines) for n in needles):
                found.set()
                return

    threading.Thread(target=pump, daemon=True).start()
    assert found.wait(timeout_s), f"not all of {needles} in {lines}"


# ---- deploy/ -----------------------------------------------------------------------------------


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


@pytest.mark.parametrize("name, command", [("hfsnap-refresh.service", "refresh"), ("hfsnap-health.service", "health")])
def test_oneshot_units_run_hfsnap_hardened(name: str, command: str) -> None:
    service = _unit(name)["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"] == f"/opt/hfsnap/.venv/bin/hfsnap {command} --log-format json"
    assert service["WorkingDirectory"] == "/opt/hfsnap"
    assert service["EnvironmentFile"] == "-/etc/hfsnap/env"
    assert (service["NoNewPrivileges"], service["ProtectSystem"], service["ReadWritePaths"]) == (
        "yes",
        "strict",
        "/opt/hfsnap/data",
    )


def test_refresh_unit_accepts_partial_runs_and_never_retries_a_busy_lock() -> None:
    service = _unit("hfsnap-refresh.service")["Service"]
    assert "3" in service["SuccessExitStatus"].split()
    assert "75" in service["RestartPreventExitStatus"].split()


def test_schedule_unit_is_a_daemon_that_stops_gracefully() -> None:
    unit = _unit("hfsnap-schedule.service")
    service = unit["Service"]
    assert (service["Type"], service["Restart"], service["KillSignal"], service["TimeoutStopSec"]) == (
        "simple",
        "on-failure",
        "SIGTERM",
        "300",
    )
    assert service["ExecStart"].endswith("hfsnap schedule --log-format json")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize(
    "timer, cron",
    [("hfsnap-refresh.timer", ScheduleConfig.refresh_cron), ("hfsnap-health.timer", ScheduleConfig.health_cron)],
)
def test_timers_fire_when_the_default_cron_lines_do(timer: str, cron: str) -> None:
    section = _unit(timer)["Timer"]
    assert section["Persistent"] in ("true", "false") and section["Unit"] == timer.replace(".timer", ".service")
    assert _calendar_times(section["OnCalendar"]) == _cron_times(cron)


def _cron_times(cron: str) -> set[str]:
    """HH:MM of every firing of a crontab line over one UTC day."""
    trigger = CronTrigger.from_crontab(cron, timezone="UTC")
    at, out = datetime(2030, 1, 1, tzinfo=UTC), set()
    while (at := trigger.get_next_fire_time(None, at)) and at.day == 1:
        out.add(at.strftime("%H:%M"))
        at = at.replace(second=1)
    return out


def _calendar_times(spec: str) -> set[str]:
    """HH:MM of an OnCalendar `*-*-* H:M:00 UTC` spec (H and M as `*`, `N` or `N/step`)."""
    match = re.fullmatch(r"\*-\*-\* (\S+):(\S+):00 UTC", spec)
    assert match, spec
    return {f"{h:02d}:{m:02d}" for h in _expand(match[1], 24) for m in _expand(match[2], 60)}


def _expand(field: str, size: int) -> range:
    if field == "*":
        return range(size)
    start, _, step = field.partition("/")
    return range(int(start), size if step else int(start) + 1, int(step or 1))


@pytest.mark.skipif(
    not shutil.which("systemd-analyze"), reason="systemd-analyze not installed (the configparser tests still run)"
)
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    for unit in DEPLOY.glob("hfsnap-*"):
        # verify insists the binary exists; /opt/hfsnap is where the units expect an install, not this checkout.
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/hfsnap/.venv/bin/hfsnap", "/bin/true"))
    units = sorted(str(p) for p in tmp_path.iterdir())
    done = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_crontab_example_matches_the_default_cron_lines() -> None:
    entries = [
        line.split(None, 5)
        for line in (DEPLOY / "crontab.example").read_text().splitlines()
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]
    ]
    crons = {" ".join(e[:5]): e[5] for e in entries}
    assert set(crons) == {ScheduleConfig.refresh_cron, ScheduleConfig.health_cron}
    assert (
        "hfsnap refresh" in crons[ScheduleConfig.refresh_cron] and "hfsnap health" in crons[ScheduleConfig.health_cron]
    )
    assert not any("flock" in cmd for cmd in crons.values())  # hfsnap locks itself
