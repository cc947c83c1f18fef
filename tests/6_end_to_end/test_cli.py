"""The `vitrine` command as a user runs it: the main job, and errors as messages, not tracebacks."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from tests.conftest import (
    REPO,
    SALES_HEADER,
    SUMMARY_END,
    TODAY,
    VITRINE,
    call,
    write_csv,
)
from tests.conftest import run_vitrine as run


def test_main_job_generates_ingests_and_reports(main_job):
    home, result, _ = main_job
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "Files ingested" in out and "vendas.csv" in out
    assert "Top stores by net revenue" in out and "Top SKUs by net revenue" in out
    assert "R$ " in out and "L00" in out
    for feature_set in ("demand_day", "demand_week", "traffic_hour", "basket_lines", "customer_items"):
        assert f"{feature_set}: " in out and "rows in" in out
    assert list((home / "features" / "demand_day").iterdir())  # the Parquet run folder
    assert "Backtest" in out and "sku_store" in out and "promoted to champion (no champion yet)" in out
    assert "Highest stock-out risks" in out
    assert "Cross-sell on the last weeks" in out and "Served:" in out and "chosen on the validation windows" in out
    assert "Hourly traffic backtest" in out and "ensemble" in out and "Sellers needed at L001" in out
    assert out.count("promoted to champion (no champion yet)") == 3 and "Suggestions for a basket with" in out
    assert "No new sales posted to the service." in out and "Published the sellers' and stores' figures" in out
    # each training step is a line with the job's seconds (no terminal here); MLflow's chatter goes to a log file
    assert re.search(r"Forecaster: .+… \((\d+ min )?\d+ s in", out) and re.search(r"Staffing: .+… \((\d+ min )?\d+ s in", out)
    assert "Downloading artifacts" not in out + result.stderr and "mlflow.pyfunc" not in out + result.stderr
    assert "mlflow" in (home / "logs" / "libraries.log").read_text()
    again = run("ingest", str(home / "data" / "tiny"), home=home)
    assert again.returncode == 0 and len(re.findall(r"│ vendas\.csv ", out)) == 1  # one row of the files table
    assert "already ingested, skipped" in again.stdout


def test_the_main_job_is_never_silent_and_records_its_steps_for_the_next_estimate(main_job):
    """No step leaves the terminal (here a log) without a line for over 10 s: a newcomer can tell
    progress from a hang. Every step's seconds are kept for the next run's estimate of the time left."""
    home, _, (silence, line) = main_job
    assert silence <= 10, f"{silence:.1f} s without a line before: {line!r}"
    steps = json.loads((home / "logs" / "steps" / "run-tiny.json").read_text())["steps"]
    names = [text for text, _ in steps]
    assert names[0] == "Starting…" and any(n.startswith("Building demand_day") for n in names)
    assert any(n.startswith("Forecaster: backtest fold") for n in names) and names[-1].startswith("Staffing: ")
    assert all(seconds >= 0 for _, seconds in steps)


def test_make_run_serves_before_training_and_ends_with_a_summary_box_that_works(main_job, service):
    """`make run`'s terminal: the API and dashboard start once the figures are out (the models
    train after), and the last thing printed is the summary box, whose link codes and token work."""
    home, result, _ = main_job
    out = result.stdout
    assert out.index("Published the sellers' and stores' figures") < out.index("Serving after") < out.index("Backtest")
    box = out[out.index("vitrine is up"):]
    assert out.rstrip().splitlines()[-1].startswith("╰") and SUMMARY_END in box  # nothing after the box
    assert "Stopping the service" in result.stderr  # what it printed once stopped (SIGTERM, as Ctrl-C)
    assert (home / "logs" / "api.log").stat().st_size > 0 and (home / "logs" / "dashboard.log").exists()
    codes = re.findall(r"/start (\S+)\s+(Vendedora|Gerente) Demo", box)
    assert [who for _, who in codes] == ["Vendedora", "Gerente"]
    _, url, _ = service
    done = subprocess.run([*VITRINE, "bot", "--console", "--home", str(home)], input=f"/start {codes[0][0]}\n/vendas\n",
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "VITRINE_SERVICE_URL": url, "VITRINE_TODAY": TODAY})
    assert "Pronto, Vendedora Demo!" in done.stdout and "📊 Suas vendas" in done.stdout, done.stdout[-2000:]
    token = re.search(r"[\w-]{20,}", box.split("Dashboard sign-in for Gerente Demo (shown once):")[1]).group()
    assert call(url, "me", token).json()["name"] == "Gerente Demo"


def test_the_home_is_its_users_only(main_job, service):
    """Token hashes and the audit trail (service.db), posted sales, MLflow's registry and the models,
    the warehouse: no file under the home is readable by anyone else, and the home is 0700."""
    home, _, _ = main_job
    assert home.stat().st_mode & 0o777 == 0o700
    harness_logs = {p.name for p in [*home.glob("service-*.log"), *home.glob("dashboard*.log")]}  # these tests' own
    written = [p for p in home.rglob("*") if not p.is_symlink() and p.name not in harness_logs]
    assert {"service.db", "live_sales.db", "mlflow.db"} <= {p.name for p in written}
    readable = [str(p.relative_to(home)) for p in written if p.stat().st_mode & 0o077]
    assert not readable, readable[:20]


def test_spark_stops_after_the_features_and_starts_again_when_needed(tmp_path):
    """The pipeline's Spark JVM (over a gigabyte) does not outlive the feature step. A JVM for short
    jobs (small data) compiles with C1 only; one for long jobs keeps the optimising compiler."""
    script = f"""
import os
from pyspark import SparkContext
from features.spark import spark_session, stop_spark
from warehouse.settings import load_settings
settings = load_settings(home={str(tmp_path)!r}, spark_driver_memory="1g")
assert spark_session(settings, short_jobs=True).range(5).count() == 5
jvm = SparkContext._gateway.proc.pid
assert "-XX:TieredStopAtLevel=1" in open(f"/proc/{{jvm}}/cmdline").read().split("\\0")
stop_spark()
state = open(f"/proc/{{jvm}}/stat").read().split()[2] if os.path.exists(f"/proc/{{jvm}}") else "gone"
assert state in ("gone", "Z"), state
assert spark_session(settings).range(3).count() == 3 and SparkContext._gateway.proc.pid != jvm
assert "TieredStopAtLevel" not in open(f"/proc/{{SparkContext._gateway.proc.pid}}/cmdline").read()
stop_spark()
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


def test_bad_file_is_a_clear_error_without_traceback(tmp_path):
    bad = write_csv(tmp_path / "in", "vendas.csv", SALES_HEADER[:3], [["1", "1", "L1"]])
    result = run("ingest", str(bad), home=tmp_path)
    assert result.returncode == 1
    assert "vendas.csv: line 1: missing column(s)" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_unknown_scale_and_mapping_are_refused(tmp_path):
    result = run("generate", "--scale", "huge", home=tmp_path)
    assert result.returncode == 1 and "unknown scale 'huge'" in result.stdout
    result = run("ingest", str(tmp_path), "--mapping", "nope", home=tmp_path)
    assert result.returncode == 1 and "unknown mapping 'nope'" in result.stdout


def test_features_commands_explain_themselves(tmp_path):
    listed = subprocess.run([*VITRINE, "features", "list", "demand_week"], capture_output=True, text=True,
                            env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert listed.returncode == 0 and "units_lag_4" in listed.stdout and "units_mean_13" in listed.stdout
    empty = run("features", "build", home=tmp_path)
    assert empty.returncode == 1 and "no sales to build features from: ingest data first" in empty.stdout
    bad = run("features", "build", "--as-of", "yesterday", home=tmp_path)
    assert bad.returncode == 1 and "--as-of 'yesterday' is not a date" in bad.stdout
    unknown = subprocess.run([*VITRINE, "features", "list", "demand_month"], capture_output=True, text=True)
    assert unknown.returncode == 1 and "unknown feature set 'demand_month'" in unknown.stdout
    assert "Traceback" not in empty.stdout + empty.stderr + bad.stderr + unknown.stderr


def test_users_get_tokens_once_and_bad_requests_are_refused(tmp_path):
    added = run("users", "add", "Gil", "--role", "manager", "--store", "L001", home=tmp_path)
    assert added.returncode == 0 and "shown once" in added.stdout
    token = added.stdout.strip().splitlines()[-1]
    assert len(token) >= 40 and token not in (tmp_path / "service.db").read_bytes().decode("latin-1")
    listed = run("users", "list", home=tmp_path)
    assert "Gil" in listed.stdout and "manager" in listed.stdout and token not in listed.stdout
    assert run("users", "add", "X", "--role", "boss", home=tmp_path).stdout.count("unknown role 'boss'") == 1
    assert "a seller needs --store" in run("users", "add", "X", "--role", "seller", home=tmp_path).stdout
    assert run("users", "revoke", "1", home=tmp_path).returncode == 0
    again = run("users", "revoke", "1", home=tmp_path)
    assert again.returncode == 1 and "no active user 1" in again.stdout
