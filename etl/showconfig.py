"""`hfsnap config show`: the effective configuration as TOML, each value marked with where it came from."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config
from .hub import resolve_token
from .redaction import redact, redact_urls, url_for_log

# Which environment variable sets which key (config.load_config applies them).
ENV_KEYS = {("hub", "endpoint"): "HF_ENDPOINT", ("hub", "router"): "HFSNAP_ROUTER_URL", ("db", "url"): "HFSNAP_DB_URL"}
# The path of a healthchecks-style ping URL (or a webhook's) is its secret: show scheme and host only.
SECRET_PATH_KEYS = {("notify", "webhook_url"), ("notify", "ping_url")}


def show_config(config: Config, env: Mapping[str, str], flags: Mapping[tuple[str, str], str] | None = None) -> str:
    """TOML that `--config` would load back to `config`; secrets redacted, origins in comments."""
    file_data = _file_data(config.path)
    flags = flags or {}
    lines = [
        f"# hfsnap {__version__}: effective configuration",
        f"# file: {config.path or 'none (built-in defaults, equal to the shipped config.toml)'}",
        f"# token: {_token_state(env)}",
    ]
    for f in fields(config):
        value = getattr(config, f.name)
        if is_dataclass(value):
            lines += ["", f"[{f.name}]"]
            for key, item in _items(value):
                origin = _origin(f.name, key, file_data, env, flags)
                if (f.name, key) in SECRET_PATH_KEYS and item:
                    item = url_for_log(item)
                lines.append(f"{key} = {_toml(item)}  # {origin}" if item is not None else f"# {key}: not set")
        elif isinstance(value, tuple) and value and all(is_dataclass(v) for v in value):
            origin = "file" if f.name in file_data else "default"
            for entry in value:
                lines += ["", f"[[{f.name}]]  # {origin}"]
                lines += [f"{key} = {_toml(item)}" for key, item in _items(entry) if item not in (None, ())]
    return redact("\n".join(lines), resolve_token(dict(env))) + "\n"


def _file_data(path: str | None) -> dict[str, Any]:
    """The config file as parsed TOML (load_config already checked it), to tell file values from defaults."""
    if path is None:
        return {}
    return tomllib.loads(Path(path).read_text(encoding="utf-8"))


def _items(section: Any) -> list[tuple[str, Any]]:
    return [(f.name, getattr(section, f.name)) for f in fields(section)]


def _origin(
    section: str, key: str, file_data: dict[str, Any], env: Mapping[str, str], flags: Mapping[tuple[str, str], str]
) -> str:
    if (section, key) in flags:
        return flags[(section, key)]
    variable = ENV_KEYS.get((section, key))
    if variable and env.get(variable):
        return f"environment {variable}"
    return "file" if key in file_data.get(section, {}) else "default"


def _toml(value: Any) -> str:
    """A TOML literal for the scalar and list values config sections hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(redact_urls(str(value)), ensure_ascii=False)  # a JSON string is a TOML basic string


def _token_state(env: Mapping[str, str]) -> str:
    if (env.get("HF_TOKEN") or "").strip():
        return "set from HF_TOKEN (redacted)"
    if resolve_token(dict(env)):
        return "set from huggingface_hub's token file (redacted)"
    return "none (listing needs none; `hfsnap health` does)"
