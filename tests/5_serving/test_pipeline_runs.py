"""Pipeline runs asked for through the API: one at a time, in a process of their own, and how the
last one ended (here one that fails fast: a home with nothing to ingest into features)."""

from __future__ import annotations

import time

from serving import pipeline_runs
from tests.conftest import call
from warehouse.settings import load_settings


def test_a_run_starts_once_and_reports_how_it_ended(tmp_path):
    settings = load_settings(home=tmp_path / "empty-home")
    assert pipeline_runs.status(settings)["state"] == "never"
    first = pipeline_runs.start(settings)
    assert first["state"] == "running"
    again = pipeline_runs.start(settings)  # while it runs: the same run, no second process
    assert again["started_at"] == first["started_at"] and len(list((tmp_path / "empty-home" / "pipeline-runs").glob("*.log"))) == 1
    deadline = time.monotonic() + 300
    while (state := pipeline_runs.status(settings))["state"] == "running":
        assert time.monotonic() < deadline, "the run never ended"
        time.sleep(1)
    assert state["state"] == "failed" and state["exit_code"] not in (0, None) and state["finished_at"]
    assert state["log_tail"].strip()


def test_only_analysts_and_admins_may_run_the_pipeline_or_see_the_models(service):
    settings, url, tokens = service
    for endpoint in ("run_pipeline", "pipeline_status", "models"):
        assert call(url, endpoint, tokens["manager"]).status_code == 403
        assert call(url, endpoint, tokens["seller"]).status_code == 403
    assert call(url, "pipeline_status", tokens["analyst"]).json()["state"] in ("never", "running", "succeeded", "failed")
    bad = call(url, "model_plot", tokens["analyst"], name="staffing", version="1", path="../mlflow.db")
    assert bad.status_code == 400 and "plots/" in bad.text
