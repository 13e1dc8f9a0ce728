"""The fake's response value (status, JSON body, headers) and the "drop the connection" signal."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import orjson

try:  # lets in-process callers (httpx.WSGITransport) catch the drop as the transport error a socket would give
    from httpx import RemoteProtocolError as _TransportError
except ImportError:  # pragma: no cover - httpx is a project dependency; keep the fake importable without it
    _TransportError = ConnectionError  # type: ignore[assignment,misc]  # a stand-in class when httpx is absent


class DropConnection(ConnectionResetError, _TransportError):
    """Raised by the app to hang up without a response.

    wsgiref swallows ConnectionResetError and closes the socket without writing anything (the client sees
    "server disconnected"); through httpx.WSGITransport it surfaces as httpx.RemoteProtocolError.
    """

    def __init__(self, message: str = "Server disconnected without sending a response.") -> None:
        ConnectionResetError.__init__(self, message)


@dataclass
class Reply:
    """A response before WSGI encoding; `body` is already-encoded JSON bytes."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def status_line(self) -> str:
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Unknown"


def json_reply(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, orjson.dumps(payload), list(headers or ()))


def error_reply(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    """The Hub's error envelope `{"error": message}`."""
    return json_reply(status, {"error": message}, headers)
