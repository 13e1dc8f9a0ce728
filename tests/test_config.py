"""config.toml and the environment: defaults, every documented key, and one-line errors naming the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from etl.cli import main as cli_main
from etl.config import Config, load_config
from etl.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_equals_the_defaults(tmp_path, monkeypatch):
    shipped = load_config(ROOT / "config.toml", env={})
    monkeypatch.chdir(tmp_path)  # no ./config.toml here: the built-in defaults
    builtin = load_config(None, env={})
    assert builtin.path is None and builtin == Config()
    assert dataclasses.replace(shipped, path=None) == builtin  # every key, every section, every source
    assert [s.name for s in shipped.sources] == ["providers", "popular-text-generation"]


def _write(path: Path, page_size: int) -> Path:
    path.write_text(f"[hub]\npage_size = {page_size}\n")
    return path


def test_config_is_found_flag_then_env_then_cwd_then_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flag, env_file = _write(tmp_path / "flag.toml", 10), _write(tmp_path / "env.toml", 20)
    assert load_config(None, env={}).hub.page_size == 1000
    _write(tmp_path / "config.toml", 30)
    assert load_config(None, env={}).hub.page_size == 30
    assert load_config(None, env={"HFSNAP_CONFIG": str(env_file)}).hub.page_size == 20
    assert load_config(flag, env={"HFSNAP_CONFIG": str(env_file)}).hub.page_size == 10


def test_a_folder_as_config_is_one_line_naming_it(tmp_path, capsys):
    code = cli_main(["config", "show", "--config", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and str(tmp_path) in err and "Traceback" not in err


def test_config_show_loads_back_to_the_effective_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text(
        "[hub]\nconcurrency = 2\n[[sources]]\nname = 'groq'\ninference_provider = 'groq'\nfilter = ['a', 'b']\n"
    )
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "HFSNAP_DB_URL": "sqlite:///x.db"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert cli_main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "concurrency = 2  # file" in out and "page_size = 1000  # default" in out
    assert 'endpoint = "http://127.0.0.1:9"  # environment HF_ENDPOINT' in out
    (tmp_path / "shown.toml").write_text(out)
    assert load_config(tmp_path / "shown.toml", env={}) == dataclasses.replace(
        load_config(None, env=env), path=str(tmp_path / "shown.toml")
    )


def test_config_show_redacts_the_token_and_url_passwords(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    token = "hf_showSECRETtoken42"
    monkeypatch.setenv("HF_TOKEN", token)
    monkeypatch.setenv("HF_ENDPOINT", f"https://user:{token}@hub.example")
    assert cli_main(["config", "show", "--db", "postgresql://hfsnap:pg-s3cret@db.example/hf?sslpassword=pw2"]) == 0
    out = capsys.readouterr().out
    assert token not in out and "pg-s3cret" not in out and "pw2" not in out
    assert "token: set from HF_TOKEN (redacted)" in out
    assert 'url = "postgresql://hfsnap:***@db.example/hf?sslpassword=***"  # --db' in out


def test_config_show_hides_the_secret_path_of_notification_urls(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text(
        '[notify]\nping_url = "https://hc-ping.example/5f2c-secret-uuid"\nwebhook_url = "https://hooks.example/T0/B1/xyzSECRET"\n'
    )
    assert cli_main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "secret-uuid" not in out and "xyzSECRET" not in out
    assert 'ping_url = "https://hc-ping.example/***"  # file' in out


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
