"""Installs anywhere: the wheel in a fresh virtualenv outside the checkout refreshes from another directory;
`--version`, `--debug` and one line for any unexpected error."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from setuptools import find_packages

from etl import __version__
from etl.cli import _one_line
from etl.cli import main as cli_main
from etl.db import head

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
_URL = re.compile(r"http://127\.0\.0\.1:\d+")


def test_every_package_under_etl_is_in_the_wheel_list():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = set(find_packages(str(ROOT), include=["etl", "etl.*"]))
    assert found - listed == set(), "add them to [tool.setuptools] packages in pyproject.toml"
    assert {"etl.migrations", "etl.migrations.versions"} <= listed


def test_version_is_the_project_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"hfsnap {PYPROJECT['project']['version']}" == f"hfsnap {__version__}"


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_an_unexpected_error_is_one_line_and_exit_1(capsys, debug):
    # A port beyond 65535 fails inside the socket library: nothing in hfsnap expects it.
    code = cli_main([*debug, "fake-hub", "--models", "0", "--port", "70000"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("hfsnap fake-hub: unexpected error: OverflowError")
    assert ("Traceback (most recent call last)" in err) == bool(debug)
    assert err.count("\n") == 1 or debug


def test_the_unexpected_error_line_hides_passwords_and_the_token(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_catchALLsecret")
    exc = RuntimeError("postgresql://me:pw-secret@db/x refused\n  header Bearer hf_catchALLsecret")
    line = _one_line(exc)
    assert line == "RuntimeError: postgresql://me:***@db/x refused header Bearer ***"


def _copy_source(dest: Path) -> Path:
    """The checkout without its venv, data or build leftovers: the wheel is built from what is tracked here."""
    skip = shutil.ignore_patterns(".venv", ".git", "data", "build", "*.egg-info", "__pycache__", ".pytest_cache")
    shutil.copytree(ROOT, dest, ignore=skip)
    return dest


def _clean_env(home: Path) -> dict[str, str]:
    """No PYTHONPATH, no virtualenv, no HF or hfsnap settings of the developer's shell leak in."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PIP_INDEX_URL", "PIP_CACHE_DIR")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return {**env, "HOME": str(home), "HF_HOME": str(home / "hf"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_wheel_installs_in_a_fresh_venv_and_refreshes_from_another_directory(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "somewhere" / "else"
    home.mkdir()
    elsewhere.mkdir(parents=True)
    env = _clean_env(home)
    started = time.monotonic()
    src = _copy_source(tmp_path / "src")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), "."], src, env)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("hfsnap-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    installed = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], home, env)
    assert installed.returncode == 0, installed.stderr
    shutil.rmtree(src)  # nothing of the checkout is left to lean on
    install_s = time.monotonic() - started
    hfsnap = str(venv / "bin" / "hfsnap")

    where = _run([str(venv / "bin" / "python"), "-c", "import etl; print(etl.__file__)"], elsewhere, env)
    assert where.stdout.startswith(str(venv)), where.stdout
    version = _run([hfsnap, "--version"], elsewhere, env)
    assert version.returncode == 0 and version.stdout.strip() == f"hfsnap {PYPROJECT['project']['version']}"
    shown = _run([hfsnap, "config", "show"], elsewhere, env)
    assert shown.returncode == 0 and "# file: none (built-in defaults" in shown.stdout, shown.stderr

    hub = subprocess.Popen(
        [hfsnap, "fake-hub", "--port", "0", "--models", "300", "--seed", "3"],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert hub.stdout is not None
        line = hub.stdout.readline()
        url = _URL.search(line)
        assert url, line
        run_env = {**env, "HF_ENDPOINT": url.group(0), "HFSNAP_ROUTER_URL": url.group(0)}
        refresh = _run([hfsnap, "refresh", "--db", "sqlite:///snap.db"], elsewhere, run_env, timeout=300)
    finally:
        hub.terminate()
        hub.wait(timeout=10)
    print(f"wheel build + fresh venv install {install_s:.1f}s, whole test {time.monotonic() - started:.1f}s")
    assert refresh.returncode == 0, refresh.stderr[-2000:]
    assert "Traceback" not in refresh.stderr
    browse = _run([hfsnap, "browse", "--db", "sqlite:///snap.db"], elsewhere, env)  # no [browse] extra here
    assert browse.returncode == 2 and browse.stderr.strip() == (
        "hfsnap browse: Datasette is not installed (pip install 'hfsnap[browse]')"
    )
    queries = "from etl.browse import load_metadata; print(len(load_metadata()['databases']['hf_catalog']['queries']))"
    assert _run([str(venv / "bin" / "python"), "-c", queries], elsewhere, env).stdout.strip() == "8"  # package data
    with sqlite3.connect(elsewhere / "snap.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head()
        assert conn.execute("SELECT status, version FROM runs").fetchall() == [("complete", __version__)]
        assert conn.execute("SELECT COUNT(*) FROM catalog").fetchone()[0] > 100
