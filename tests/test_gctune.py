"""A refresh runs with fewer young-generation collections and leaves the collector as it found it."""

from __future__ import annotations

import gc
import threading

from etl import gctune
from etl.gctune import fewer_collections
from etl.pipeline import run_once


def test_thresholds_are_raised_inside_and_restored_after_even_on_error():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        with fewer_collections():
            assert gc.get_threshold()[0] >= gctune.GEN0_THRESHOLD
            assert gc.get_threshold()[1:] == before[1:]
            assert gc.get_freeze_count() >= frozen  # what lived before the block is not traversed in it
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_overlapping_blocks_restore_once_the_last_ends():
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with fewer_collections():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other)
    with fewer_collections():
        t.start()
        assert inside.wait(10)
    assert gc.get_threshold()[0] >= gctune.GEN0_THRESHOLD  # the other block still runs
    release.set()
    t.join(10)
    assert gc.get_threshold() == before


def test_a_refresh_runs_with_the_raised_threshold_and_cycles_are_still_collected(harness):
    h = harness(models=150)
    before = gc.get_threshold()
    during: list[int] = []
    with h.client() as client:
        report = run_once(h.config, client, clock=h.clock, progress=lambda _: during.append(gc.get_threshold()[0]))
    assert report.status == "complete"
    assert during and min(during) >= gctune.GEN0_THRESHOLD
    assert gc.get_threshold() == before
    with fewer_collections():
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # an explicit collection still finds garbage cycles
