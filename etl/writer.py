"""One thread that owns the run's database work, so SQL runs while the main thread parses and transforms."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_STOP = object()


class Cancelled(Exception):
    """A job skipped because the run was already stopping."""


class Writer:
    """Runs submitted calls one at a time, in order, on its own thread.

    The drivers release the GIL while a statement runs (sqlite3 around each step, psycopg while it waits on the
    server), so the merge work of one batch overlaps the Python work on the next: two cores instead of one.
    The queue is short (`depth` jobs) because every job holds its batch's rows. The first failure stops the
    thread; later submits and `close()` raise it, so the caller's transaction rolls back.
    """

    def __init__(self, depth: int = 2, name: str = "db-writer") -> None:
        self._jobs: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Queue fn(*args); blocks while `depth` jobs are waiting."""
        self._raise_if_failed()
        future: Future[T] = Future()
        while True:
            try:
                self._jobs.put((future, fn, args), timeout=0.2)
                return future
            except queue.Full:
                self._raise_if_failed()  # a dead writer never drains the queue

    def close(self, cancel: bool = False) -> None:
        """Wait for every queued job (or, with `cancel`, skip those not started); raise the first failure.

        Always call it before the connection's transaction ends: the connection must not be in two threads.
        """
        if cancel and self._error is None:
            self._error = Cancelled("the run stopped before this database job")
        if self._thread.is_alive():
            self._jobs.put(_STOP)  # the loop drains even after a failure, so this waits for one job at most
            self._thread.join()
        if not cancel:
            self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            future, fn, args = job
            if self._error is not None:
                future.set_exception(self._error)
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, who re-raises it
                self._error = exc
                future.set_exception(exc)
