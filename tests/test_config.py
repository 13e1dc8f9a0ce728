"""config.toml and the environment: defaults, every documented key, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.cli import main as cli_main
from etl.config import Config, load_config
from etl.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_equals_the_defaults():
    shipped = load_config(ROOT / "config.toml", env={})
    assert shipped.hub == Config().hub and shipped.history == Config().history and shipped.schedule == Config().schedule
    assert shipped.health == Config().health and shipped.db == Config().db
    assert [s.name for s in shipped.sources] == ["providers", "popular-text-generation"]


def test_environment_beats_the_file(tmp_path):
    cfg = load_config(
        ROOT / "config.toml",
        env={"HF_ENDPOINT": "http://127.0.0.1:9/", "HFSNAP_DB_URL": "sqlite:///x.db", "HFSNAP_ROUTER_URL": "http://r"},
    )
    assert cfg.hub.endpoint == "http://127.0.0.1:9" and cfg.hub.router == "http://r" and cfg.db.url == "sqlite:///x.db"


@pytest.mark.parametrize(
    "toml, key",
    [
        ("[hub]\npage_size = 5000\n", "hub.page_size"),
        ("[hub]\nconcurency = 4\n", "hub.concurency"),
        ("[history]\nmax_shrink = 'half'\n", "history.max_shrink"),
        ("[[sources]]\nname = 'x'\nsorts = ['trending']\n", "sources[0].sorts"),
        ("[schedule]\nrefresh_cron = 'every day'\n", "schedule.refresh_cron"),
        ("[bogus]\n", "bogus"),
        ("[hub\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, toml, key):
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_config(path, env={})


def test_bad_config_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[hub]\ntimeout_s = -1\n")
    assert cli_main(["status", "--config", str(path), "--db", f"sqlite:///{tmp_path}/x.db"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "hub.timeout_s" in err


def test_bad_endpoint_env_is_a_config_error(monkeypatch):
    with pytest.raises(ConfigError, match="HF_ENDPOINT"):
        load_config(None, env={"HF_ENDPOINT": "huggingface.co"})


def test_unknown_source_flag(tmp_path):
    with pytest.raises(ConfigError, match="--source 'nope'"):
        Config().only_sources(["nope"])
