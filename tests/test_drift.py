"""Schema drift: a Hub whose items all changed shape ends partial (exit 3), retires nothing, changes nothing."""

from __future__ import annotations

import dataclasses

import pytest

from etl.cli import main as cli_main
from etl.config import HistoryConfig
from etl.fakehub import parse_fault

pytestmark = pytest.mark.both_backends


def _changes_after(h, run_id: int) -> int:
    return h.one("SELECT COUNT(*) FROM catalog_changes WHERE run_id > ?", run_id)


def test_modelstatus_drift_is_partial_three_times_then_a_clean_run_completes(harness, capsys):
    h = harness()
    assert h.refresh().status == "complete"
    gone = sorted(h.catalog.served_ids())[0]
    h.catalog.remove(gone)  # really gone from the Hub: only a clean run may retire it
    before = h.scd2_counts()
    listed = {m for (m,) in h.sql("SELECT model_id FROM models WHERE listed = 1")}
    h.app.faults.append(parse_fault("drift:times=0"))
    for _ in range(3):
        report = h.refresh()
        assert report.status == "partial" and report.exit_code == 3
        (why,) = [w for w in report.incomplete if "history.max_reject_ratio" in w]
        assert "most often 'inferenceProviderMapping[*]: unknown status None'" in why
        example = why.split("e.g. ", 1)[1].split(")", 1)[0]
        assert example in listed
    assert h.scd2_counts() == before
    assert _changes_after(h, 1) == 0
    assert {m for (m,) in h.sql("SELECT model_id FROM models WHERE listed = 1")} == listed
    assert h.one("SELECT MAX(misses) FROM models") == 0

    assert cli_main(["status", "--db", h.url, "--json"]) == 0
    import json

    runs = json.loads(capsys.readouterr().out)["runs"]
    assert runs[0]["status"] == "partial" and runs[0]["reject_ratio"] > 0.5

    h.app.faults.clear()
    report = h.refresh()
    assert report.status == "complete" and report.exit_code == 0 and report.rejects == 0
    assert h.one("SELECT misses FROM models WHERE model_id = ?", gone) == 1  # the first proven miss, only now


def test_rejects_within_the_ratio_leave_the_run_complete(harness):
    h = harness(models=400)
    for model_id in sorted(h.catalog.served_ids())[:3]:
        h.catalog.update(model_id, downloads=1e30)
    h.config = dataclasses.replace(h.config, history=HistoryConfig(max_reject_ratio=0.05))
    report = h.refresh()
    assert report.rejects == 3 and report.status == "complete"
    h.config = dataclasses.replace(h.config, history=HistoryConfig(max_reject_ratio=0.0))
    report = h.refresh()
    assert report.status == "partial" and any("max_reject_ratio = 0)" in w for w in report.incomplete)
