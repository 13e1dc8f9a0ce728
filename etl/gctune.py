"""Fewer garbage collections while a refresh runs: most of its objects die young, by reference counting."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Net container allocations between two young-generation collections (CPython's default is 700). A page of 1,000
# parsed items is about 30,000 containers that live until the page is staged; at 700 every page was traversed by
# a dozen young collections and then again by the older generations: a quarter of a first refresh's CPU
# (11 of 41 s at 100k models, `python -m bench load`). Cycles are still collected, only less often.
GEN0_THRESHOLD = 50_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """While the block runs: the objects that exist before it are frozen (never traversed again until it ends) and
    the young generation is collected after GEN0_THRESHOLD net allocations. Nested or concurrent blocks share one
    setting; the last to end restores the thresholds it found."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(GEN0_THRESHOLD, _saved[0]), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()
