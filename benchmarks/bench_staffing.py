"""Staffing-model accuracy and speed: prints the figures the staffing issue asks for.

In one run:
1. the medium generated scale (an existing home given with --home, else generated): the full
   ``train_staffing`` (backtest on 3 rolling 14-day folds with LightGBM, Prophet and the naive
   baselines + final fit + plan + MLflow + gate), timed;
2. the real Online Retail data (invoices per country × hour as traffic; the countries with
   invoices on at least 100 days): the same backtest, timed;
3. on both, statsforecast's MSTL (daily + weekly seasonality on each store's regular grid of
   trading hours, 16 weeks of history, closed days as 0) on the same folds and rows, each run in
   a process of its own;
4. the noise floor: the WAPE a forecaster knowing the true hourly mean would still get on Poisson
   counts (it forecasts the Poisson median). Generated data: the true mean from verdade.json
   (store size × day factor × hourly share, scaled per store to the tickets that survived the
   stock-outs). Online Retail: the mean of the same weekday and hour over the 7 weeks centred on
   the day — an oracle that sees the future, so a slight under-estimate of the truth's spread.

Goals: close at least half the gap between the best peer (naive baselines, MSTL) and the floor,
never worse than the best peer; peak top-3 hit rate ≥ 80% on generated data (reported against
the actual top-3 of each day, noisy, and against the planted top-3).

Usage: python benchmarks/bench_staffing.py [--home DIR] [--skip-online-retail]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.bench_forecast import ONLINE_RETAIL, peer_python, vitrine

MSTL_WEEKS = 16


def mstl_rows(history, origin: int, horizon: int, rows: pd.DataFrame) -> np.ndarray:
    """MSTL point forecasts for ``rows`` (store_id, date, hour) from ``origin``."""
    start = max(0, origin - 7 * MSTL_WEEKS + 1)
    frames, index = [], {}
    for s, store in enumerate(history.stores):
        hours = np.flatnonzero(history.trading_hours[s])
        values = np.nan_to_num(history.tickets[s, start: origin + 1][:, hours]).ravel()
        frames.append(pd.DataFrame({"unique_id": s, "ds": np.arange(1, len(values) + 1), "y": values}))
        index[s] = (hours, len(values))
    per_day = {s: len(h) for s, (h, _) in index.items()}
    parts = []
    with tempfile.TemporaryDirectory() as scratch:
        inp, out = Path(scratch) / "in.parquet", Path(scratch) / "out.parquet"
        for hours_per_day in sorted(set(per_day.values())):  # one season length per run
            pd.concat([frames[s] for s in per_day if per_day[s] == hours_per_day]).to_parquet(inp)
            subprocess.run([str(peer_python()), str(REPO / "benchmarks" / "statsforecast_worker.py"), "mstl", str(inp),
                            str(out), str(horizon * hours_per_day), str(hours_per_day), str(7 * hours_per_day)],
                           check=True)
            parts.append(pd.read_parquet(out))
    predicted = pd.concat(parts)
    lookup = {}
    for row in predicted.itertuples(index=False):
        hours, n = index[int(row.unique_id)]
        step = int(row.ds) - n - 1
        day = origin + 1 + step // len(hours)
        lookup[(int(row.unique_id), day, int(hours[step % len(hours)]))] = max(float(row.mean), 0.0)
    s = np.searchsorted(history.stores, rows["store_id"].astype(str))
    d = (pd.to_datetime(rows["date"]) - history.first).dt.days.to_numpy()
    return np.array([lookup.get((a, b, c), np.nan) for a, b, c in zip(s, d, rows["hour"].to_numpy())])


def poisson_floor(mean: np.ndarray) -> float:
    """Expected WAPE of the Poisson median when the counts are Poisson(``mean``)."""
    from scipy import stats

    mean = np.maximum(mean, 1e-9)
    median = stats.poisson.ppf(0.5, mean)
    k = np.arange(int(mean.max() * 3 + 30))
    pmf = stats.poisson.pmf(k[None, :], mean[:, None])
    return float((pmf * np.abs(k[None, :] - median[:, None])).sum() / mean.sum())


def true_means(truth: dict, history, rows: pd.DataFrame) -> np.ndarray:
    """The generator's hourly mean for ``rows``, scaled per store to the tickets observed."""
    traffic = truth["hourly_traffic"]
    start = pd.Timestamp(truth["start"])
    factor = np.array(traffic["day_factor"])
    shares = {}
    for name, weights in traffic["profiles"].items():
        p = np.array(weights, float) / sum(weights)
        saturday = p * np.array(traffic["saturday_tilt"])
        shares[name] = (p, saturday / saturday.sum())
    profiles = truth["store_profiles"]

    def mean_of(store: str, days: np.ndarray, hours: np.ndarray) -> np.ndarray:
        weekday, saturday = shares[profiles[store]]
        dates = start + pd.to_timedelta(days, unit="D")
        share = np.where(dates.day_of_week == 5, saturday[hours - traffic["open_hour"]],
                         weekday[hours - traffic["open_hour"]])
        return traffic["tickets_per_store_day"] * traffic["store_size"][store] * factor[days] * share

    out = np.zeros(len(rows))
    for store, part in rows.groupby("store_id"):
        days = (pd.to_datetime(part["date"]) - start).dt.days.to_numpy()
        out[part.index] = mean_of(store, days, part["hour"].to_numpy())
        s = int(np.searchsorted(history.stores, store))
        all_days, all_hours = np.nonzero(np.isfinite(history.tickets[s, : history.last + 1]))
        offset = (history.first - start).days
        expected = mean_of(store, all_days + offset, all_hours).sum()
        out[part.index] *= np.nansum(history.tickets[s, : history.last + 1]) / expected  # tickets lost to stock-outs
    return out


def smoothed_means(history, rows: pd.DataFrame) -> np.ndarray:
    """Mean of the same weekday and hour over the 7 weeks centred on each row's day (an oracle)."""
    s = np.searchsorted(history.stores, rows["store_id"].astype(str))
    d = (pd.to_datetime(rows["date"]) - history.first).dt.days.to_numpy()
    h = rows["hour"].to_numpy()
    stack = []
    for k in range(-3, 4):
        day = d + 7 * k
        ok = (day >= 0) & (day <= history.last)
        stack.append(np.where(ok, history.tickets[s, np.clip(day, 0, history.last), h], np.nan))
    with np.errstate(invalid="ignore"):
        return np.nanmean(np.vstack(stack), axis=0)


def peak_hit_vs(forecasts: pd.DataFrame, reference: np.ndarray) -> pd.Series:
    """Per model: the share of each day's three busiest forecast hours among the three busiest by ``reference``."""
    from training.staffing import peak_days

    return peak_days(forecasts.assign(actual=reference[forecasts["row"].to_numpy()])).groupby("model")["peak_hit"].mean()


def evaluate(name: str, history, forecasts: pd.DataFrame, config, means: np.ndarray, truth_means: bool) -> None:
    from training.staffing import fold_origins, score

    rows = forecasts[forecasts["model"] == "last_week"][["fold", "store_id", "date", "hour", "actual"]]
    rows = rows.reset_index(drop=True)
    started = time.perf_counter()
    mstl = []
    for fold, origin in enumerate(fold_origins(history, config)):
        part = rows[rows["fold"] == fold]
        mstl.append(part.assign(model="mstl", point=mstl_rows(history, origin, config.horizon, part), p10=np.nan,
                                p90=np.nan))
    print(f"{name}: MSTL on {len(rows):,} store-hours in {time.perf_counter() - started:.0f} s", flush=True)
    forecasts = pd.concat([forecasts, *mstl], ignore_index=True)
    key = rows.assign(row=np.arange(len(rows)))[["fold", "store_id", "date", "hour", "row"]]
    forecasts = forecasts.merge(key, on=["fold", "store_id", "date", "hour"])
    floor = poisson_floor(means[rows.index.to_numpy()])
    table = score(forecasts, ["model"]).set_index("model")
    table["peak_hit_vs_truth"] = peak_hit_vs(forecasts, means) if truth_means else np.nan
    oracle = rows.assign(model="oracle", point=np.floor(means + 1 / 3), p10=np.nan, p90=np.nan)  # ≈ Poisson median
    table.loc["oracle (true mean)" if truth_means else "oracle (smoothed)", ["wape", "peak_hit"]] = [
        score(oracle, ["model"])["wape"].iloc[0], score(oracle, ["model"])["peak_hit"].iloc[0]]
    print(f"\n== {name} ==")
    print(table.round(3).to_string())
    peers = table.loc[["last_week", "mean_4_weeks", "mstl"], "wape"]
    best_peer, best = peers.min(), peers.idxmin()
    served = min(("lightgbm", "prophet"), key=lambda m: table.loc[m, "wape"])
    ours = table.loc[served, "wape"]
    closed = (best_peer - ours) / (best_peer - floor) if best_peer > floor else float("nan")
    print(f"{name}: noise floor WAPE {floor:.3f}; best peer {best} {best_peer:.3f}; vitrine ({served}) {ours:.3f}")
    print(f"{name}: gap to the floor closed {closed:.0%} (goal >= 50%, never worse than the best peer): "
          f"{'met' if closed >= 0.5 and ours <= best_peer else 'MISSED'}")
    if truth_means:
        for column, label in (("peak_hit", "actual top-3"), ("peak_hit_vs_truth", "planted top-3")):
            value = table.loc[served, column]
            print(f"{name}: peak top-3 hit rate vs the {label} {value:.1%} (goal >= 80%): "
                  f"{'met' if value >= 0.8 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, help="an existing home with medium traffic_hour features")
    parser.add_argument("--skip-online-retail", action="store_true")
    args = parser.parse_args()

    import mlflow

    from features.build import latest_run
    from training.staffing import (
        StaffingConfig,
        load_history,
        run_backtest,
        train_staffing,
    )
    from warehouse.clickhouse import close_all
    from warehouse.generator import generate
    from warehouse.settings import load_settings

    config = StaffingConfig()
    scratch = Path(tempfile.mkdtemp(prefix="bench-staffing-"))
    home = args.home or scratch / "medium"
    data = home / "data" / "medium"
    if args.home is None:
        vitrine("generate", "--scale", "medium", "--seed", "42", "--out", str(data), "--home", str(home))
        vitrine("ingest", str(data), "--home", str(home))
        vitrine("features", "build", "--sets", "traffic_hour", "--home", str(home))
    truth = json.loads((data / "verdade.json").read_text())
    if "hourly_traffic" not in truth:  # a home generated before the truth recorded it: same seed, same data
        generate("medium", truth["seed"], scratch / "truth")
        truth = json.loads((scratch / "truth" / "verdade.json").read_text())
    settings = load_settings(home=home)
    started = time.perf_counter()
    result = train_staffing(settings, config, on_step=lambda step: print(f"  {step} at {time.perf_counter() - started:.0f} s",
                                                                         flush=True))
    seconds = time.perf_counter() - started
    print(f"medium: train_staffing {seconds:.0f} s (backtest {result.seconds['backtest']:.0f} s, final "
          f"{result.seconds['final']:.0f} s); served {result.served}; gate: {result.reason}", flush=True)
    history = load_history(latest_run(settings, "traffic_hour").path)
    close_all()
    forecasts = pd.read_parquet(mlflow.artifacts.download_artifacts(
        run_id=result.run_id, artifact_path="backtest/backtest_forecasts.parquet"))
    rows = forecasts[forecasts["model"] == "last_week"].reset_index(drop=True)
    evaluate("medium", history, forecasts, config, true_means(truth, history, rows), truth_means=True)

    if args.skip_online_retail:
        return
    retail_home = scratch / "online_retail"
    vitrine("ingest", str(ONLINE_RETAIL), "--mapping", "online_retail", "--home", str(retail_home))
    vitrine("features", "build", "--sets", "traffic_hour", "--home", str(retail_home))
    retail = load_settings(home=retail_home)
    history = load_history(latest_run(retail, "traffic_hour").path)
    close_all()
    busy = np.isfinite(history.tickets).any(axis=2).sum(axis=1) >= 100  # countries trading on 100+ days
    history = type(history)(history.stores[busy], history.first, history.tickets[busy], history.items[busy],
                            history.promotions[busy], history.last, history.trading_hours[busy])
    started = time.perf_counter()
    backtest = run_backtest(history, config)
    print(f"\nonline retail: {len(history.stores)} countries with invoices on 100+ days "
          f"({', '.join(history.stores)}); backtest {time.perf_counter() - started:.0f} s", flush=True)
    rows = backtest.forecasts[backtest.forecasts["model"] == "last_week"].reset_index(drop=True)
    evaluate("online retail", history, backtest.forecasts, config, smoothed_means(history, rows), truth_means=False)


if __name__ == "__main__":
    main()
