"""Router health probes (etl.health) against the fake router and a real migrated SQLite file."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import TOKEN, Harness

from etl.cli import main as cli_main
from etl.config import Config
from etl.errors import LoadError, UsageError
from etl.health import Check, HealthResult, health_client, run_health

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "hf_SECRETsecret123"
CHAT = "/v1/chat/completions"


@pytest.fixture
def hub(harness: Callable[..., Harness]) -> Harness:
    """A refreshed catalog whose router answers ok for every pair unless a test says otherwise."""
    h = harness(models=60)
    h.catalog.health.clear()
    h.refresh()
    h.app.stats.reset()
    return h


def _pairs(h: Harness) -> list[tuple[str, str]]:
    """Live conversational pairs in the order a first health run probes them."""
    return [
        tuple(r)
        for r in h.sql(
            "SELECT model_id, provider FROM model_providers WHERE valid_to IS NULL "
            "AND status = 'live' AND task = 'conversational' ORDER BY model_id, provider"
        )
    ]


def _health(
    h: Harness, at: datetime = T0, config: Config | None = None, transport: Any = "wsgi", **kw: Any
) -> HealthResult:
    wsgi = httpx.WSGITransport(app=h.app) if transport == "wsgi" else transport
    config = config or h.config
    with health_client(config, token=kw.pop("token", TOKEN), transport=wsgi) as client:
        return run_health(config, client, clock=lambda: at, **kw)


def _rows(h: Harness, pair: tuple[str, str]) -> list[tuple]:
    return h.sql(
        "SELECT outcome, http_status, error FROM health_checks WHERE model_id = ? AND provider = ? ORDER BY check_id",
        *pair,
    )


def _insert_mapping(h: Harness, model_id: str, provider: str, status: str, task: str) -> None:
    h.sql(
        "INSERT INTO model_providers (model_id, provider, provider_model_id, status, task, valid_from, run_from) "
        "VALUES (?, ?, ?, ?, ?, '2026-01-01T00:00:00.000000Z', 1)",
        model_id,
        provider,
        model_id,
        status,
        task,
    )


def _probed(result: HealthResult) -> list[Check]:
    return [c for c in result.checks if c.outcome != "unsupported"]


def _probes(h: Harness) -> int:
    return h.app.stats.by_path[CHAT]


@pytest.fixture
def loopback(hub: Harness) -> Iterator[Config]:
    """The same fake served on a real loopback socket: what timeouts and dropped connections need."""
    from etl.fakehub.server import start_in_thread

    url, stop = start_in_thread(hub.app)
    try:
        yield dataclasses.replace(hub.config, hub=dataclasses.replace(hub.config.hub, endpoint=url, router=url))
    finally:
        stop()


# ---- classification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "behaviour, outcome, status",
    [
        ("ok", "ok", 200),
        ("auth", "auth", 403),
        ("payment", "payment", 402),
        ("not_found", "not_found", 404),
        ("gone", "gone", 410),
        ("rate_limited", "rate_limited", 429),
        ("server_error", "server_error", 503),
    ],
)
def test_router_answer_is_classified(hub: Harness, behaviour: str, outcome: str, status: int) -> None:
    first = _pairs(hub)[0]
    hub.catalog.health[first] = behaviour
    _health(hub, limit=1)
    [(got, http_status, error)] = _rows(hub, first)
    assert (got, http_status) == (outcome, status)
    assert (error is None) == (outcome == "ok")


def test_pair_the_router_does_not_know_is_not_found_with_its_message(hub: Harness) -> None:
    _insert_mapping(hub, "0-nobody/ghost-model", "groq", "live", "conversational")  # sorts first: probed first
    _health(hub, limit=1)
    [(outcome, status, error)] = _rows(hub, ("0-nobody/ghost-model", "groq"))
    assert (outcome, status) == ("not_found", 400) and "not supported by any provider" in error


def test_hang_past_timeout_is_timeout(hub: Harness, loopback: Config) -> None:
    first = _pairs(hub)[0]
    hub.catalog.health[first] = "hang"
    config = dataclasses.replace(loopback, health=dataclasses.replace(loopback.health, timeout_s=0.3))
    [check] = _probed(_health(hub, config=config, transport=None, limit=1))
    assert (check.outcome, check.http_status) == ("timeout", None)
    assert 250 <= check.latency_ms < 5000


def test_dropped_connection_is_network(hub: Harness, loopback: Config) -> None:
    first = _pairs(hub)[0]
    hub.catalog.health[first] = "network"
    [check] = _probed(_health(hub, config=loopback, transport=None, limit=1))
    assert (check.outcome, check.http_status) == ("network", None) and check.error


# ---- what gets probed ----------------------------------------------------------------------------


def test_non_conversational_and_staging_mappings_are_unsupported_without_a_request(hub: Harness) -> None:
    _insert_mapping(hub, "acme/image-model", "fal-ai", "live", "text-to-image")
    _insert_mapping(hub, "acme/chat-model", "novita", "staging", "conversational")
    result = _health(hub, limit=0)
    assert _probes(hub) == 0 and result.probed == 0
    for pair in (("acme/image-model", "fal-ai"), ("acme/chat-model", "novita")):
        [(outcome, status, error)] = _rows(hub, pair)
        assert (outcome, status) == ("unsupported", None) and "not probed" in error


def test_unsupported_rows_do_not_use_the_probe_budget(hub: Harness) -> None:
    _insert_mapping(hub, "acme/image-model", "fal-ai", "live", "text-to-image")
    result = _health(hub, limit=2)
    assert _probes(hub) == 2 and result.probed == 2
    assert result.counts()["unsupported"] >= 1


def test_max_checks_bounds_the_probes(hub: Harness) -> None:
    config = dataclasses.replace(hub.config, health=dataclasses.replace(hub.config.health, max_checks=3))
    result = _health(hub, config=config)
    assert _probes(hub) == 3 and result.probed == 3
    assert result.deferred == len(_pairs(hub)) - 3


def test_next_run_probes_the_least_recently_checked_pairs(hub: Harness) -> None:
    pairs = _pairs(hub)
    first = {(c.model_id, c.provider) for c in _probed(_health(hub, at=T0, limit=3))}
    second = {(c.model_id, c.provider) for c in _probed(_health(hub, at=T0 + timedelta(hours=1), limit=3))}
    assert first == set(pairs[:3]) and second == set(pairs[3:6])


def test_unsupported_is_recorded_once_while_it_stays_so(hub: Harness) -> None:
    _insert_mapping(hub, "acme/image-model", "fal-ai", "live", "text-to-image")
    _health(hub, at=T0, limit=0)
    _health(hub, at=T0 + timedelta(hours=1), limit=0)
    assert len(_rows(hub, ("acme/image-model", "fal-ai"))) == 1


def test_provider_filter_probes_only_those_providers(hub: Harness) -> None:
    provider = _pairs(hub)[0][1]
    result = _health(hub, providers=[provider])
    assert result.checks and {c.provider for c in result.checks} == {provider}


def test_health_runs_concurrently_within_the_limit(hub: Harness) -> None:
    config = dataclasses.replace(hub.config, health=dataclasses.replace(hub.config.health, concurrency=8))
    result = _health(hub, config=config)
    assert result.probed == len(_pairs(hub)) == _probes(hub)
    assert result.exit_code == 0


# ---- history -----------------------------------------------------------------------------------


def test_health_latest_has_one_row_per_pair_and_a_24h_ok_ratio(hub: Harness) -> None:
    pair = _pairs(hub)[0]
    for at, behaviour in (
        (T0 - timedelta(hours=30), "server_error"),
        (T0, "ok"),
        (T0 + timedelta(hours=1), "server_error"),
        (T0 + timedelta(hours=2), "ok"),
    ):
        hub.catalog.health[pair] = behaviour
        _health(hub, at=at)
    latest = hub.sql("SELECT model_id, provider, outcome, ok_ratio_24h, checked_at FROM health_latest")
    assert (
        len(latest)
        == len({(m, p) for m, p, *_ in latest})
        == hub.one("SELECT COUNT(DISTINCT model_id || ' ' || provider) FROM health_checks")
    )
    mine = [r for r in latest if (r[0], r[1]) == pair]
    assert mine == [
        (*pair, "ok", pytest.approx(2 / 3), "2026-03-01T14:00:00.000000Z")
    ]  # the 30-hour-old failure is out


def test_rows_carry_utc_time_epoch_and_latency(hub: Harness) -> None:
    _health(hub, limit=1)
    [(checked_at, epoch, latency)] = hub.sql(
        "SELECT checked_at, checked_epoch, latency_ms FROM health_checks WHERE outcome <> 'unsupported'"
    )
    assert checked_at == "2026-03-01T12:00:00.000000Z" and epoch == T0.timestamp() and latency >= 0


# ---- errors, exit codes, secrets ---------------------------------------------------------------


def test_without_a_token_health_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.chdir(tmp_path)
    assert cli_main(["health", "--db", f"sqlite:///{tmp_path / 'h.db'}"]) == 2
    assert "no Hugging Face token" in capsys.readouterr().err


def test_without_a_token_run_health_raises_before_any_request(
    hub: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    with pytest.raises(UsageError, match="HF_TOKEN"):
        _health(hub, token=None)
    assert _probes(hub) == 0


def test_unreadable_database_fails_with_exit_1(
    hub: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.sql("DROP TABLE model_providers")
    with pytest.raises(LoadError):
        _health(hub)
    assert cli_main(["health", "--db", hub.config.db.url]) == 1
    assert capsys.readouterr().err.strip().startswith("hfsnap health: cannot read model_providers")


def test_rows_the_database_refuses_make_exit_1_but_keep_the_outcomes(hub: Harness) -> None:
    hub.sql("CREATE TRIGGER refuse BEFORE INSERT ON health_checks BEGIN SELECT RAISE(ABORT, 'disk is full'); END")
    result = _health(hub, limit=2)
    assert result.exit_code == 1 and "cannot write health_checks" in result.error and "disk is full" in result.error
    assert result.probed == 2 and "NOT SAVED" in result.render()
    assert hub.one("SELECT COUNT(*) FROM health_checks") == 0  # one transaction: nothing half-written


def test_render_counts_outcomes_then_lists_bad_pairs(hub: Harness) -> None:
    first, second = _pairs(hub)[:2]
    hub.catalog.health[first] = "payment"
    text = _health(hub, limit=2).render()
    assert "ok            1" in text and "payment       1" in text
    assert f"{first[0]} [{first[1]}] payment (HTTP 402" in text and f"{second[0]} [{second[1]}]" not in text


def test_token_is_never_stored_logged_or_printed(
    hub: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from etl.fakehub.server import start_in_thread

    for pair, behaviour in zip(
        _pairs(hub), ("auth", "payment", "server_error", "rate_limited", "not_found"), strict=False
    ):
        hub.catalog.health[pair] = behaviour
    url, stop = start_in_thread(hub.app)
    db = tmp_path / "secret.db"
    for key, value in (
        ("HF_TOKEN", SECRET),
        ("HF_ENDPOINT", url),
        ("HFSNAP_ROUTER_URL", url),
        ("HF_HOME", str(tmp_path / "hh")),
    ):
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    printed: list[str] = []
    try:
        for args, codes in (
            (["refresh", "-v"], (0, 3)),
            (["refresh", "--json"], (0, 3)),
            (["health", "-v"], (0,)),
            (["health", "--json"], (0,)),
        ):
            assert cli_main([*args, "--db", f"sqlite:///{db}"]) in codes
            printed.extend(capsys.readouterr())
    finally:
        stop()
    assert json.loads(printed[-2])["probed"] > 0  # the probes did happen
    assert not [text for text in printed if SECRET in text]
    for path in tmp_path.glob("secret.db*"):  # the database, its WAL and shared memory
        assert SECRET.encode() not in path.read_bytes(), path.name
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM health_checks WHERE outcome = 'auth'").fetchone()[0] >= 1
