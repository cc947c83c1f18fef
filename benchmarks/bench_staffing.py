"""Staffing forecasts end to end: prints the figures the staffing goals ask of ``vitrine train staffing``.

On the medium generated scale (an existing home given with --home, else generated), and
optionally on Online Retail (invoices per country × hour as traffic): the full ``train_staffing``
(the traffic pool's rolling backtest + blend + plan + MLflow + gate), timed, with each member's
seconds; the pooled hourly WAPE and peak top-3 hit rate of every member and of the blend; and the
noise floor: the WAPE that a forecaster knowing each hour's mean would still get on Poisson counts
(it forecasts the Poisson median), with the mean estimated by an oracle that sees the future (the
same weekday and hour over the 7 weeks centred on the day; a slight under-estimate of the spread).

Goals: close at least half the WAPE gap between the best single member and the floor; peak top-3
hit rate ≥ the best single member + 0.05.

Usage: python benchmarks/bench_staffing.py [--home DIR] [--online-retail]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ONLINE_RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"


def vitrine(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).parent / "vitrine"), *args], check=True, stdout=subprocess.DEVNULL)


def poisson_floor(mean: np.ndarray) -> float:
    """Expected WAPE of the Poisson median when the counts are Poisson(``mean``)."""
    from scipy import stats

    mean = np.maximum(mean, 1e-9)
    median = stats.poisson.ppf(0.5, mean)
    k = np.arange(int(mean.max() * 3 + 30))
    pmf = stats.poisson.pmf(k[None, :], mean[:, None])
    return float((pmf * np.abs(k[None, :] - median[:, None])).sum() / mean.sum())


def oracle_means(traffic: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Mean tickets of the same store, weekday and hour over the 7 weeks centred on each row's day."""
    known = traffic.set_index(["store_id", "hour_start"])["tickets"]
    stamps = pd.DatetimeIndex(rows["date"]) + pd.to_timedelta(rows["hour"], unit="h")
    stack = [known.reindex(pd.MultiIndex.from_arrays([rows["store_id"], stamps + pd.Timedelta(weeks=k)])).to_numpy()
             for k in range(-3, 4)]
    with np.errstate(invalid="ignore"):
        return np.nanmean(np.vstack(stack), axis=0)


def measure(name: str, home: Path) -> None:
    from features.build import latest_run
    from training.staffing import load_traffic, train_staffing
    from warehouse.clickhouse import close_all
    from warehouse.settings import load_settings

    settings = load_settings(home=home)
    started = time.perf_counter()
    result = train_staffing(settings, on_step=lambda step: print(f"  {step} at {time.perf_counter() - started:.0f} s",
                                                                 flush=True))
    seconds = time.perf_counter() - started
    traffic = load_traffic(latest_run(settings, "traffic_hour").path)
    close_all()
    scores = result.scores.set_index("model").sort_values("wape")
    print(f"\n== {name}: {traffic['store_id'].nunique()} stores ==")
    print(scores[["wape", "bias", "coverage", "peak_hit", "peak_days_all_3"]].round(4).to_string())
    members = {k.removeprefix("member."): round(v, 1) for k, v in result.seconds.items() if k.startswith("member.")}
    print(f"{name}: train_staffing {seconds:.0f} s; member seconds (backtest) {members}; gate: {result.reason}")
    blend, singles = scores.loc["ensemble"], scores.drop(index="ensemble")
    best = singles["wape"].idxmin()
    import mlflow

    rows = pd.read_parquet(mlflow.artifacts.download_artifacts(run_id=result.run_id,
                                                               artifact_path="backtest/backtest_forecasts.parquet"))
    rows = rows[rows["model"] == "ensemble"].reset_index(drop=True)
    means = oracle_means(traffic, rows)
    floor = poisson_floor(np.nan_to_num(means))
    closed = (singles.loc[best, "wape"] - blend["wape"]) / max(singles.loc[best, "wape"] - floor, 1e-9)
    print(f"{name}: WAPE blend {blend['wape']:.4f}, best member {best} {singles.loc[best, 'wape']:.4f}, Poisson floor "
          f"{floor:.4f}: {closed:.0%} of the gap closed (goal >= 50%): {'met' if closed >= 0.5 else 'MISSED'}")
    best_hit = singles["peak_hit"].max()
    print(f"{name}: peak top-3 hit blend {blend['peak_hit']:.3f} vs best member {singles['peak_hit'].idxmax()} "
          f"{best_hit:.3f} (goal >= +0.05): {'met' if blend['peak_hit'] >= best_hit + 0.05 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, help="an existing home with medium traffic_hour features")
    parser.add_argument("--online-retail", action="store_true", help="also train on Online Retail")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-staffing-"))
    home = args.home or scratch / "medium"
    if args.home is None:
        vitrine("generate", "--scale", "medium", "--seed", "42", "--out", str(home / "data"), "--home", str(home))
        vitrine("ingest", str(home / "data"), "--home", str(home))
        vitrine("features", "build", "--sets", "traffic_hour", "--home", str(home))
    measure("medium", home)
    if args.online_retail:
        retail = scratch / "online_retail"
        vitrine("ingest", str(ONLINE_RETAIL), "--mapping", "online_retail", "--home", str(retail))
        vitrine("features", "build", "--sets", "traffic_hour", "--home", str(retail))
        measure("online retail", retail)


if __name__ == "__main__":
    main()
