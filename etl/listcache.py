"""The current catalog's OpenRouter list, built once per loaded run and shared by `hfsnap serve`'s requests."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine

from . import openrouter, queries


class CurrentList:
    """`/api/v1/models` without `as_of`: every listed model's parts, rebuilt when a new run has been loaded.

    The current catalog changes only when a refresh commits its merge, and that commit also marks its run complete
    or partial (`runs.finish`): the newest such run (`queries.data_version`) is the key. It is read before the list,
    so a refresh committing in between leaves a newer list under the older key, rebuilt at the next request, never
    an older list under the newer key. The records' JSON is shared with the RecordCache (as-of lists use it too).
    """

    def __init__(self, records: openrouter.RecordCache | None = None) -> None:
        self.records = records or openrouter.RecordCache()
        self._built: tuple[Any, list[openrouter.ModelPart]] | None = None  # (key, parts), replaced whole
        self._lock = threading.Lock()  # one build at a time; requests meanwhile wait for it

    def parts(self, engine: Engine) -> list[openrouter.ModelPart]:
        key = queries.data_version(engine)
        built = self._built
        if built is not None and built[0] == key:
            return built[1]
        with self._lock:
            built = self._built
            if built is None or built[0] != key:
                built = (key, list(openrouter.iter_model_parts(engine, queries.AsOf(), self.records)))
                self._built = built
            return built[1]
