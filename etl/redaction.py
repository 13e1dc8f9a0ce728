"""Secrets out of text: the Hub token and credentials inside URLs, wherever a message is printed or stored."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# scheme://userinfo@ : the userinfo of any URL inside a message (HF_ENDPOINT, a database or webhook URL...).
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
# ?token=... / &api_key=... : secret-looking query parameters of any URL inside a message.
_SECRET_PARAM = re.compile(r"""(?P<head>[?&][^=&\s]*(?:pass|token|secret|key)[^=&\s]*=)[^&\s"'<>]*""", re.IGNORECASE)


def _mask_userinfo(match: re.Match[str]) -> str:
    user, colon, _password = match["userinfo"].partition(":")
    return f"{match['scheme']}{user}:***@" if colon else f"{match['scheme']}***@"


def redact_urls(text: str) -> str:
    """Passwords inside `scheme://user:password@host` URLs, and secret query parameters, become `***`."""
    if "@" in text:
        text = _USERINFO.sub(_mask_userinfo, text)
    return _SECRET_PARAM.sub(r"\g<head>***", text) if ("?" in text or "&" in text) else text


def redact(text: str, *secrets: str | None) -> str:
    """`text` without any of `secrets` and without credentials inside URLs."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "***")
    return redact_urls(text)


def host_of(url: str) -> str:
    """`host[:port]` of a URL, never its credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def url_for_log(url: str) -> str:
    """A notification URL as logs may show it: scheme and host only (the path of a ping URL is its secret)."""
    parts = urlsplit(url)
    hidden = "/***" if (parts.path.strip("/") or parts.query) else ""
    return f"{parts.scheme}://{host_of(url)}{hidden}"
