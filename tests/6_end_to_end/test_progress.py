"""The progress clock: steps named and timed, an estimate of the time left from the last run, one
clock for nested jobs, and a line at least every few seconds into a log."""

from __future__ import annotations

import io
import json
import re
import time

import pytest
from rich.console import Console

from pipelines import progress
from pipelines.progress import clocked, seconds_left, short_time, step_key

LAST_RUN = [("Loading…", 2.0), ("backtest fold 1/3, lightgbm", 10.0), ("backtest fold 2/3, lightgbm", 10.0),
            ("sampling 10,020 of 30,000 series", 3.0), ("final fit", 5.0)]


def test_time_left_is_what_the_last_run_took_from_the_step_under_way():
    done = ["Loading…", "backtest fold 1/3, lightgbm"]
    assert seconds_left(LAST_RUN, done, "backtest fold 2/3, lightgbm", 4.0) == pytest.approx(6 + 3 + 5)
    # a step past its last time counts as ending now; counts in a step's text may change between runs
    assert seconds_left(LAST_RUN, [*done, "backtest fold 2/3, lightgbm"], "sampling 9,000 of 27,000 series",
                        7.0) == pytest.approx(0 + 5)
    assert seconds_left(LAST_RUN, [], "Loading…", 0.0) == pytest.approx(30)
    assert seconds_left(LAST_RUN, ["Loading…"], "a step the last run did not have", 1.0) is None
    # a step the last run did not have is passed over; paths (another home) do not matter
    assert seconds_left(LAST_RUN, ["Loading…", "a new step"], "final fit", 1.0) == pytest.approx(4)
    assert step_key("Generating into /tmp/a/data/small… 3 s") == step_key("Generating into /home/b/.vitrine/data/small… 9 s")
    assert seconds_left([], [], "Loading…", 0.0) is None  # a first run: no estimate


def test_short_times_read_as_a_person_says_them():
    assert [short_time(s) for s in (4.4, 59.6, 185)] == ["4 s", "1 min 00 s", "3 min 05 s"]


def log_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=200), out


def test_a_second_run_estimates_from_the_first_and_nested_jobs_share_one_clock(tmp_path):
    record = tmp_path / "steps" / "job.json"

    def job(console: Console) -> None:
        with clocked(console, "Loading…", record) as step:
            time.sleep(0.05)
            with clocked(console, "Inner first…", tmp_path / "inner.json") as inner:  # a job inside the job
                inner("Inner second…")
                time.sleep(0.1)
            step("Last…")

    console, out = log_console()
    job(console)
    first = out.getvalue()
    assert "left" not in first  # nothing to estimate from
    steps = json.loads(record.read_text())["steps"]
    assert [text for text, _ in steps] == ["Loading…", "Inner first…", "Inner second…", "Last…"]
    assert steps[2][1] >= 0.1 and not (tmp_path / "inner.json").exists()  # the inner job's steps are the outer's
    console, out = log_console()
    job(console)
    assert re.search(r"Inner second… \(0 s in · ━*─* \d+% · about 0 s left\)", out.getvalue()), out.getvalue()


def test_into_a_log_a_long_step_is_named_again_every_few_seconds(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "HEARTBEAT", 0.3)
    console, out = log_console()
    with clocked(console, "Training the forecaster…", tmp_path / "job.json"):
        time.sleep(2.5)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Training the forecaster… (0 s in")
    assert sum(line.startswith("… Training the forecaster…") for line in lines) >= 2  # ticks every second


def test_a_first_run_estimates_from_the_reference_run(tmp_path, monkeypatch):
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "job.json").write_text(json.dumps({"steps": [["Loading…", 30.0], ["Last…", 60.0]]}))
    monkeypatch.setattr(progress, "REFERENCE", tmp_path / "reference")
    console, out = log_console()
    with clocked(console, "Loading…", tmp_path / "home" / "job.json") as step:
        step("Last…")
    assert re.search(r"Last… \(0 s in · ━*─* \d+% · about 1 min 00 s left on 2 reference cores\)", out.getvalue())
    console, out = log_console()
    with clocked(console, "Loading…", tmp_path / "home" / "job.json"):  # this home's own record now
        pass
    assert "reference" not in out.getvalue()


def test_the_shipped_reference_is_a_whole_run_of_make_run():
    steps = json.loads((progress.REFERENCE / "run-small.json").read_text())["steps"]
    names = [text for text, _ in steps]
    assert names[0] == "Starting…" and names[-1].startswith("Staffing: ")
    assert any(n.startswith("Forecaster: backtest fold") for n in names) and all(s >= 0 for _, s in steps)


def test_a_failed_job_keeps_the_last_good_record(tmp_path):
    record = tmp_path / "job.json"
    record.write_text(json.dumps({"steps": [["Loading…", 3.0]]}))
    console, _ = log_console()
    with pytest.raises(RuntimeError), clocked(console, "Loading…", record):
        raise RuntimeError("boom")
    assert json.loads(record.read_text())["steps"] == [["Loading…", 3.0]]
    record.write_text("not json")
    with clocked(console, "Loading…", record):  # an unreadable record costs only the estimate
        pass
    assert json.loads(record.read_text())["steps"][0][0] == "Loading…"
