"""Serving a FakeHubApp over loopback HTTP: a threaded wsgiref server, in the foreground or a background thread."""

from __future__ import annotations

import socketserver
import sys
import threading
from collections.abc import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .app import FakeHubApp


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """One thread per connection; daemon threads so a hung request never blocks interpreter exit."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # benches open many short connections (wsgiref answers one request per connection)


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log on stderr: benches make hundreds of thousands of requests."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature from BaseHTTPRequestHandler
        pass


def _make(app: FakeHubApp, host: str, port: int) -> tuple[_ThreadingWSGIServer, str]:
    server = make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    bound_host, bound_port = server.server_address[:2]
    return server, f"http://{bound_host!s}:{bound_port}"


def serve(app: FakeHubApp, host: str = "127.0.0.1", port: int = 0, ready: Callable[[str], None] | None = None) -> None:
    """Serve until interrupted (port 0 = a free port); announces the URL on stdout and to `ready(url)`."""
    server, url = _make(app, host, port)
    print(f"fake-hub listening on {url} ({len(app.catalog.models)} models, mode {app.mode})", flush=True)
    if ready is not None:
        ready(url)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("fake-hub stopping", file=sys.stderr, flush=True)
    finally:
        app.close()  # release requests sleeping in hang/slow
        server.server_close()


def start_in_thread(app: FakeHubApp, host: str = "127.0.0.1", port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve in a daemon thread; returns (base url, stop). stop() also closes the app to wake sleeping requests."""
    server, url = _make(app, host, port)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-hub {url}", daemon=True
    )
    thread.start()

    def stop() -> None:
        app.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return url, stop
