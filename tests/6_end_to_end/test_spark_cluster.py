"""The pipeline on a real standalone Spark cluster: a master and one worker on 127.0.0.1, started
with the ``spark-class`` pyspark ships, and ``vitrine pipeline run`` pointed at it through
``VITRINE_SPARK_MASTER``. The features are built by the cluster's executors, and the forecasts
that come out are the ones the main job made in ``local[*]`` from the same generated data."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pandas as pd
import pyspark
import pytest

from tests.conftest import VITRINE, free_port, kill_tree
from warehouse import forecasts
from warehouse.clickhouse import close_all, connect
from warehouse.settings import load_settings

SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"


@pytest.fixture
def spark_cluster(tmp_path):
    """``(master URL, master web UI URL)`` of a standalone cluster with one worker (2 cores, 2 GiB)."""
    port, ui = free_port(), free_port()
    env = {"PATH": "/usr/bin:/bin", "SPARK_HOME": str(SPARK_CLASS.parent.parent),
           "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false", **(
               {"JAVA_HOME": os.environ["JAVA_HOME"]} if "JAVA_HOME" in os.environ else {})}
    logs = tmp_path / "cluster"
    logs.mkdir()
    master = subprocess.Popen(
        [str(SPARK_CLASS), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
         "--webui-port", str(ui)], stdout=(logs / "master.log").open("w"), stderr=subprocess.STDOUT, env=env,
        start_new_session=True)
    url, ui_url = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}"
    worker = subprocess.Popen(
        [str(SPARK_CLASS), "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "2",
         "--memory", "2g", "--webui-port", str(free_port()), "--work-dir", str(logs / "work")],
        stdout=(logs / "worker.log").open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 300  # ~15 s on 2 quiet cores
        while master_state(ui_url).get("aliveworkers", 0) < 1:
            assert time.monotonic() < deadline, (logs / "master.log").read_text()[-3000:] + (
                logs / "worker.log").read_text()[-3000:]
            assert master.poll() is None and worker.poll() is None, (logs / "worker.log").read_text()[-3000:]
            time.sleep(2)
        yield url, ui_url
    finally:
        for process in (worker, master):
            kill_tree(process)


def master_state(ui_url: str) -> dict:
    """The master's own account of its workers and applications (its web UI's JSON); ``{}`` while the UI
    is not up yet, including the moment it answers with an empty body (seen on a loaded CI machine)."""
    try:
        return httpx.get(f"{ui_url}/json/", timeout=5).json()
    except (httpx.HTTPError, ValueError):  # ValueError: the body is not JSON yet
        return {}


def published_forecast(folder: Path) -> pd.DataFrame:
    frame = pd.concat([pd.read_parquet(path) for path in (folder / "forecast").glob("*.parquet")])
    return frame.sort_values(["store_id", "sku", "date"], ignore_index=True)


def test_the_pipeline_runs_on_a_standalone_cluster_and_forecasts_as_local_mode_does(spark_cluster, main_job, tmp_path):
    url, ui_url = spark_cluster
    home = tmp_path / "home"
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "VITRINE_SPARK_MASTER": url}
    generated = subprocess.run([*VITRINE, "generate", "--scale", "tiny", "--home", str(home)], env=env,
                               capture_output=True, text=True, timeout=600)
    assert generated.returncode == 0, generated.stdout[-2000:] + generated.stderr[-2000:]
    done = subprocess.run([*VITRINE, "pipeline", "run", str(home / "data" / "tiny"), "--quick", "--home", str(home)],
                          env=env, capture_output=True, text=True, timeout=1800)  # ~3 min on 2 quiet cores
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # the cluster's executors ran the feature build
    apps = [app["name"] for app in master_state(ui_url).get("completedapps", [])]
    assert "vitrine-features" in apps, master_state(ui_url)

    close_all()  # chDB opens one data directory per process
    try:
        settings = load_settings(home=home)
        masters = connect(settings).query("SELECT DISTINCT spark_master FROM meta.feature_runs").result_rows
        [[run_id]] = connect(settings).query(f"SELECT DISTINCT run_id FROM {forecasts.TABLE}").result_rows
        close_all()
        # the main job's first forecaster run: the same tiny data (seed 42), its features built in local[*]
        local = load_settings(home=main_job[0])
        reference = connect(local).query_df(
            f"SELECT store_id, sku, date, mean, p10, p50, p90 FROM {forecasts.TABLE} WHERE run_id = "
            f"(SELECT run_id FROM {forecasts.TABLE} ORDER BY made_at, run_id LIMIT 1)")
    finally:
        close_all()
    assert masters == [(url,)]
    ours = published_forecast(forecasts.forecasts_dir(settings) / run_id)
    reference = reference.astype({"store_id": str}).assign(date=pd.to_datetime(reference["date"]))
    reference = reference.sort_values(["store_id", "sku", "date"], ignore_index=True)
    assert len(ours) == len(reference) > 1000
    for key in ("store_id", "sku"):
        assert ours[key].astype(str).tolist() == reference[key].astype(str).tolist()
    assert (ours["date"].to_numpy() == reference["date"].to_numpy()).all()
    for column in ("mean", "p10", "p50", "p90"):  # the warehouse keeps them as Float32
        assert (ours[column] - reference[column]).abs().max() < 1e-4 * max(1.0, ours[column].abs().max()), column
