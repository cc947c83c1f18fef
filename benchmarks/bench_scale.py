"""Chain scale: prints the figures issue 20 asks for, stage by stage and scale by scale.

Stages (each in a fresh process, its memory (PSS) sampled every 0.5 s; the Python processes and the
Spark JVM reported apart, since the goal bounds the driver, not the executors):

* ``generate``: ``vitrine generate --scale S``: wall time, rows, peak memory (flat from medium to
  xlarge is the goal: the generator works a chunk of stores at a time);
* ``pipeline``: ``vitrine pipeline run`` on that export in a fresh home (ingest, features, the
  three models, the figures published): wall time, and the driver's peak (Python only);
* ``forecast``: ``vitrine train forecast`` alone on the home the pipeline stage left (set
  ``VITRINE_FORECAST_ENGINE`` / ``VITRINE_FORECAST_DRIVER_SERIES`` to compare the two engines);
* ``figures``: the pipeline's last step alone, publishing the live figures (and raising the
  below-forecast alerts), on the home the pipeline stage left: wall time and the driver's peak;
* ``serve``: the forecasts of every store × SKU of the scale for 28 days, published per store
  (warehouse/forecasts.py; from the pipeline's run when the stage ran, otherwise made up at the
  scale's shape), then what the service does for ``forecast`` (20 SKUs, 14 days) and
  ``stock_alerts`` (top 20) of a random store, 300 times: p50 and p99 in ms, the stores read
  cold (16 stay in memory; a chain has hundreds).

Goals: driver peak within 1.5× from medium to xlarge and <= 4 GiB at xlarge; wall time at most
linear in the number of series; xlarge end to end on 2 cores / 24 GiB; p99 <= 50 ms at xlarge.

Usage: python benchmarks/bench_scale.py [--scales medium,large,xlarge] [--stages generate,pipeline,forecast,figures,serve]
       [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from warehouse.generator import SCALES

VITRINE = [sys.executable, "-m", "pipelines.cli"]
PUBLISH_FIGURES = [sys.executable, "-c", ("import sys; from pathlib import Path; from pipelines.cli import publish_figures; "
                   "from warehouse.settings import load_settings; publish_figures(load_settings(home=Path(sys.argv[1])))")]


def sample(process: psutil.Popen, stop: threading.Event, peak: dict[str, int],
           driver: list[tuple[float, int]]) -> None:
    """Peak memory of the process tree (proportional set size: a page shared by a forked worker and
    its parent counts once), split into the driver (vitrine's own Python processes, statsforecast's
    forked workers included), Spark's JVM, and Spark's Python workers (the executors' side of the
    pandas UDFs). ``driver`` gets every sample of the driver's memory, (seconds since the start,
    bytes), so that the peak can be put on the step that made it."""
    started = time.perf_counter()
    while not stop.is_set():
        used = {"python": 0, "java": 0, "workers": 0}
        try:
            tree = [process, *process.children(recursive=True)]
        except psutil.Error:
            tree = []
        for p in tree:
            try:  # a process that ends meanwhile is skipped, not the whole sample
                rss = p.memory_full_info().pss  # forked workers share their parent's pages: count them once
                if "java" in p.name():
                    used["java"] += rss
                elif any("pyspark" in part for part in p.cmdline()):
                    used["workers"] += rss
                else:
                    used["python"] += rss
            except psutil.Error:
                continue
        for kind, rss in used.items():
            peak[kind] = max(peak[kind], rss)
        driver.append((time.perf_counter() - started, used["python"]))
        time.sleep(0.5)


def measured(command: list[str], log: Path, env: dict[str, str] | None = None) -> dict:
    """Run ``command``; its wall seconds, peak memory (GiB) and the driver's samples, or exit with
    its log's tail."""
    stop, peak, driver = threading.Event(), {"python": 0, "java": 0, "workers": 0}, []
    started = time.perf_counter()
    with log.open("w") as out:
        child = psutil.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                             env={**os.environ, "COLUMNS": "200", **(env or {})})
        sampler = threading.Thread(target=sample, args=(child, stop, peak, driver), daemon=True)
        sampler.start()
        code = child.wait()
    stop.set()
    if code:
        sys.exit(f"{' '.join(command[2:])} failed (exit {code}):\n{log.read_text()[-3000:]}")
    return {"seconds": time.perf_counter() - started, "driver": driver,
            **{f"{kind}_gib": rss / 2**30 for kind, rss in peak.items()}}


def peak_by_step(driver: list[tuple[float, int]], steps: Path, top: int = 5) -> list[tuple[str, float]]:
    """The driver's peak (GiB) during each of the job's steps, highest first. ``steps`` is the
    job's own record of its step times (pipelines/progress.py); the time before its first step
    (imports, settings) is the run's wall time less the steps' sum."""
    durations = [(text, seconds) for text, seconds in json.loads(steps.read_text())["steps"]]
    wall = driver[-1][0] if driver else 0.0
    start = max(0.0, wall - sum(seconds for _, seconds in durations))
    peaks = []
    for text, seconds in durations:
        during = [rss for at, rss in driver if start <= at < start + seconds]
        peaks.append((text, max(during, default=0) / 2**30))
        start += seconds
    return sorted(peaks, key=lambda step: -step[1])[:top]


def made_up_forecasts(scale: str, horizon: int = 28) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecasts and alerts of the scale's shape (every store × SKU, ``horizon`` days)."""
    cfg = SCALES[scale]
    stores = np.array([f"L{i + 1:03d}" for i in range(cfg.stores)])
    skus = np.array([f"P{i + 1:05d}" for i in range(cfg.skus)])
    rng = np.random.default_rng(0)
    n = cfg.stores * cfg.skus
    mean = np.repeat(rng.gamma(0.5, 2.0, n), horizon).astype(np.float32)
    forecast = pd.DataFrame({
        "store_id": np.repeat(stores, cfg.skus * horizon), "sku": np.tile(np.repeat(skus, horizon), cfg.stores),
        "date": np.tile(pd.date_range("2026-11-01", periods=horizon).to_numpy(), n),
        "mean": mean, "p10": mean * 0.4, "p50": mean, "p90": mean * 1.8})
    alerts = pd.DataFrame({"store_id": np.repeat(stores, cfg.skus), "sku": np.tile(skus, cfg.stores),
                           "on_hand": 3.0, "days_of_cover": 5.0, "stockout_date": None,
                           "stockout_probability": rng.random(n), "order_quantity": 4})
    return forecast, alerts


def serve(scale: str, home: Path) -> dict:
    """p50/p99 (ms) of one store's ``forecast`` and ``stock_alerts`` as the service answers them."""

    from models.forecast_pyfunc import StockForecaster
    from warehouse import forecasts
    from warehouse.settings import load_settings

    settings = load_settings(home=home)
    runs = sorted(forecasts.forecasts_dir(settings).glob("*/meta.json")) if forecasts.forecasts_dir(settings).exists() else []
    if runs:
        folder, source = runs[-1].parent, "the pipeline's run"
    else:
        started = time.perf_counter()
        folder = forecasts.publish(settings, "bench", *made_up_forecasts(scale))
        source = f"made up at the scale's shape, published in {time.perf_counter() - started:.0f} s"
    model = StockForecaster.reading(folder)
    stores = [p.stem for p in (folder / "forecast").glob("*.parquet")]
    rng = np.random.default_rng(1)
    forecast_ms, alerts_ms = [], []
    for _ in range(300):
        store = str(rng.choice(stores))
        started = time.perf_counter()
        skus = rng.choice(list(model.store(store).runs), 20, replace=False)
        model.predict(None, pd.DataFrame({"store_id": store, "sku": skus, "horizon_days": 14}))
        forecast_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        model.alerts(store).head(20)
        alerts_ms.append((time.perf_counter() - started) * 1000)
    size = sum(p.stat().st_size for p in folder.rglob("*.parquet"))
    return {"source": source, "stores": len(stores), "published_mib": size / 2**20,
            "forecast_p50": np.percentile(forecast_ms, 50), "forecast_p99": np.percentile(forecast_ms, 99),
            "alerts_p50": np.percentile(alerts_ms, 50), "alerts_p99": np.percentile(alerts_ms, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="medium,large,xlarge")
    parser.add_argument("--stages", default="generate,pipeline,serve")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed after)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="vitrine-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    stages = args.stages.split(",")
    print(f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; stages {', '.join(stages)}")
    try:
        for scale in args.scales.split(","):
            cfg = SCALES[scale]
            home, data = work / scale / "home", work / scale / "data"
            print(f"\n{scale}: {cfg.stores} stores × {cfg.skus:,} SKUs = {cfg.stores * cfg.skus:,} series, "
                  f"{cfg.days} days", flush=True)
            if "generate" in stages or "pipeline" in stages:
                shutil.rmtree(data, ignore_errors=True)
                got = measured([*VITRINE, "generate", "--scale", scale, "--out", str(data)], work / f"{scale}-generate.log")
                lines = sum(1 for _ in (data / "vendas.csv").open()) - 1
                disk = sum(p.stat().st_size for p in data.iterdir()) / 2**30
                print(f"  generate: {got['seconds']:.0f} s, {lines:,} sales lines ({disk:.1f} GiB of CSV), "
                      f"peak {got['python_gib']:.2f} GiB", flush=True)
            if "pipeline" in stages:
                shutil.rmtree(home, ignore_errors=True)
                got = measured([*VITRINE, "pipeline", "run", str(data), "--home", str(home)],
                               work / f"{scale}-pipeline.log")
                print(f"  pipeline run: {got['seconds']:.0f} s; driver (Python) peak {got['python_gib']:.2f} GiB, "
                      f"Spark JVM peak {got['java_gib']:.2f} GiB, Spark's Python workers peak "
                      f"{got['workers_gib']:.2f} GiB", flush=True)
                for text, gib in peak_by_step(got["driver"], home / "logs" / "steps" / "pipeline.json"):
                    print(f"    driver peak {gib:.2f} GiB during: {text}", flush=True)
            if "forecast" in stages:  # the forecaster alone, on the home the pipeline stage left
                got = measured([*VITRINE, "train", "forecast", "--home", str(home)], work / f"{scale}-forecast.log")
                engine = os.environ.get("VITRINE_FORECAST_ENGINE", "auto")
                print(f"  train forecast (engine {engine}, driver budget "
                      f"{os.environ.get('VITRINE_FORECAST_DRIVER_SERIES', 'default')} series): {got['seconds']:.0f} s; "
                      f"driver peak {got['python_gib']:.2f} GiB, Spark JVM {got['java_gib']:.2f} GiB, "
                      f"Spark's Python workers {got['workers_gib']:.2f} GiB", flush=True)
                for text, gib in peak_by_step(got["driver"], home / "logs" / "steps" / "train-forecaster.json"):
                    print(f"    driver peak {gib:.2f} GiB during: {text}", flush=True)
            if "figures" in stages:  # the pipeline's last step alone, on the home the pipeline stage left
                got = measured([*PUBLISH_FIGURES, str(home)], work / f"{scale}-figures.log")
                print(f"  publish the live figures: {got['seconds']:.0f} s; driver peak {got['python_gib']:.2f} GiB",
                      flush=True)
            if "serve" in stages:
                home.mkdir(parents=True, exist_ok=True)
                got = serve(scale, home)
                print(f"  serve one store ({got['stores']} stores, {got['published_mib']:.0f} MiB published, "
                      f"{got['source']}): forecast p50 {got['forecast_p50']:.1f} ms p99 {got['forecast_p99']:.1f} ms; "
                      f"stock_alerts p50 {got['alerts_p50']:.1f} ms p99 {got['alerts_p99']:.1f} ms "
                      f"(goal p99 <= 50 ms: {'met' if max(got['forecast_p99'], got['alerts_p99']) <= 50 else 'MISSED'})",
                      flush=True)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
