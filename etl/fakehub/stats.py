"""Request statistics of a FakeHubApp: totals, per-path counts and a bounded log, safe across server threads."""

from __future__ import annotations

import threading
from collections import Counter

LOG_MAX = 10_000  # keep the last N request lines: enough for assertions, bounded for long benches


class Stats:
    """`requests` (total), `by_path` (Counter of paths), `log` (last LOG_MAX "path?query" strings)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.by_path: Counter[str] = Counter()
        self.log: list[str] = []

    def record(self, path: str, query: str) -> None:
        with self._lock:
            self.requests += 1
            self.by_path[path] += 1
            self.log.append(f"{path}?{query}" if query else path)
            if len(self.log) > LOG_MAX:
                del self.log[: len(self.log) - LOG_MAX]

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.by_path.clear()
            self.log.clear()
