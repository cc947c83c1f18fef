"""Forecast accuracy and speed: prints the figures the stock-forecasting issue asks for.

In one run:
1. the medium generated scale (generated, ingested and featurised in a scratch folder, or an
   existing home given with --home): the full ``train_forecast`` (backtest on 3 rolling folds +
   final fit + MLflow + gate), timed; Prophet series/s;
2. the real Online Retail data (invoice lines, countries as stores), daily units of the 500
   best-selling products: the same backtest;
3. on both, statsforecast's AutoETS (weekly season) on the same folds, levels and scoring, each run
   in a process of its own.

Goals: SKU RMSSE ≤ 0.80 × seasonal naive and ≤ 0.95 × AutoETS; store/chain RMSSE ≤ 0.75 × AutoETS;
P10–P90 coverage within 75–85%; medium train time ≤ 10 min on 2 cores.

Usage: python benchmarks/bench_forecast.py [--home DIR] [--skip-online-retail]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ONLINE_RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"
SAMPLE_SERIES = 2_000


def vitrine(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).parent / "vitrine"), *args], check=True, stdout=subprocess.DEVNULL)


def prepare_medium(home: Path) -> None:
    vitrine("generate", "--scale", "medium", "--seed", "42", "--out", str(home / "data" / "medium"), "--home", str(home))
    vitrine("ingest", str(home / "data" / "medium"), "--home", str(home))
    vitrine("features", "build", "--sets", "demand_day", "--home", str(home))


def prepare_online_retail(home: Path) -> None:
    vitrine("ingest", str(ONLINE_RETAIL), "--mapping", "online_retail", "--home", str(home))
    vitrine("features", "build", "--sets", "demand_day", "--home", str(home))


def peer_python() -> Path:
    """The interpreter that runs the statsforecast peers: the project's own (statsforecast is a
    dependency of the forecasting pool); each peer runs in a process of its own."""
    return Path(sys.executable)


def autoets_forecast(history: pd.DataFrame, keys: list[str], horizon: int) -> pd.DataFrame:
    """AutoETS (weekly season) means per series of ``history``, run in a process of its own."""
    ids = history[keys].drop_duplicates().reset_index(drop=True)
    ids["unique_id"] = range(len(ids))
    given = history.merge(ids, on=keys)
    with tempfile.TemporaryDirectory() as scratch:
        inp, out = Path(scratch) / "in.parquet", Path(scratch) / "out.parquet"
        pd.DataFrame({"unique_id": given["unique_id"].to_numpy(), "ds": given["date"].to_numpy(),
                      "y": given["units"].astype(float).to_numpy()}).to_parquet(inp)
        subprocess.run([str(peer_python()), str(REPO / "benchmarks" / "statsforecast_worker.py"), "autoets", str(inp),
                        str(out), str(horizon)], check=True)
        return pd.read_parquet(out).merge(ids, on="unique_id").drop(columns="unique_id").rename(columns={"ds": "date"})


def peer_scores(units: pd.DataFrame, config, last_fold: pd.DataFrame, history_days: int = 364) -> pd.DataFrame:
    """AutoETS scored exactly as the backtest scores its models, beside LightGBM and the seasonal naive.

    Aggregate levels (SKU chain-wide, store, chain): every scored fold, every series. SKU × store:
    AutoETS on 30,000 series x 3 folds would take an hour on 2 cores, so a seeded sample of
    ``SAMPLE_SERIES`` series on the last fold, with LightGBM and the naive re-scored on the same
    series and days (from the backtest's last-fold forecasts). AutoETS sees each series' last
    ``history_days``; the scales use the whole history.
    """
    from models.metrics import naive_scales
    from training.backtest import LEVELS, fold_origins, level_histories, score

    origins = list(enumerate(fold_origins(units["date"].max(), config)))[1:]
    rows = []
    for fold, origin in origins:
        histories = level_histories(units, origin)
        future = level_histories(units, origin + pd.Timedelta(days=config.horizon))
        levels = ["sku", "store", "chain"] + (["sku_store"] if fold == origins[-1][0] else [])
        for level in levels:
            keys = LEVELS[level]
            history = histories[level]
            actual = future[level][future[level]["date"] > origin].rename(columns={"units": "actual"})
            if level == "sku_store":
                censored = units[(units["date"] > origin) & (units["stockout_days"].fillna(0) > 0)]
                actual = actual.merge(censored[keys + ["date"]].assign(out=1), how="left", on=[*keys, "date"])
                actual = actual[actual["out"].isna()].drop(columns="out")
                sample = actual[keys].drop_duplicates().sample(min(SAMPLE_SERIES, len(actual)), random_state=3)
                history, actual = history.merge(sample, on=keys), actual.merge(sample, on=keys)
            recent = history[history["date"] > origin - pd.Timedelta(days=history_days)]
            predicted = autoets_forecast(recent, keys, config.horizon)
            joined = actual.merge(predicted, on=[*keys, "date"], how="inner")
            joined["mean"] = joined["mean"].clip(lower=0)
            scales = naive_scales(history, keys)
            rows.append({"level": level, "model": "autoets", "fold": fold, **score(joined, scales, keys)})
            if level == "sku_store":
                ours = last_fold[last_fold["level"] == "sku_store"].copy()
                ours[keys] = ours["series"].str.split(" / ", expand=True).to_numpy()
                ours = ours.merge(joined[[*keys, "date"]], on=[*keys, "date"])
                for model in ("lightgbm", "seasonal_naive"):
                    rows.append({"level": level, "model": model, "fold": fold,
                                 **score(ours[ours["model"] == model], scales, keys)})
    table = pd.DataFrame(rows).groupby(["level", "model"], as_index=False)[["rmsse", "mase", "wape", "bias", "series"]]
    return table.mean()


def report(name: str, summary: pd.DataFrame, peer: pd.DataFrame) -> None:
    table = summary.set_index(["level", "model"])
    peers = peer.set_index(["level", "model"])
    print(f"\n== {name} ==")
    print(summary.round(3).to_string(index=False))
    print(f"AutoETS (SKU × store: {SAMPLE_SERIES:,} sampled series, last fold, LightGBM and naive on the same rows):")
    print(peer.round(3).to_string(index=False))
    ours = table.xs("lightgbm", level="model")
    naive = table.xs("seasonal_naive", level="model")
    checks = [("sku_store", "seasonal_naive", ours.loc["sku_store", "rmsse"] / naive.loc["sku_store", "rmsse"], 0.80)]
    sampled = peers.loc["sku_store"]
    checks.append(("sku_store (sample)", "AutoETS", sampled.loc["lightgbm", "rmsse"] / sampled.loc["autoets", "rmsse"],
                    0.95))
    for level, goal in (("sku", 0.95), ("store", 0.75), ("chain", 0.75)):
        checks.append((level, "AutoETS", ours.loc[level, "rmsse"] / peers.loc[(level, "autoets"), "rmsse"], goal))
    for level, versus, ratio, goal in checks:
        print(f"{name}: {level} RMSSE / {versus} = {ratio:.3f} (goal <= {goal}): {'met' if ratio <= goal else 'MISSED'}")
    for level, coverage in ours["coverage"].items():
        verdict = "met" if 0.75 <= coverage <= 0.85 else "MISSED"
        print(f"{name}: {level} P10-P90 coverage {coverage:.1%} (goal 75-85%): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, help="an existing home with medium demand_day features")
    parser.add_argument("--skip-online-retail", action="store_true")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="backtest without the final fit and registry (no train-time figure)")
    args = parser.parse_args()

    from features.build import latest_run
    from features.definitions import feature_set
    from models.forecaster import Columns
    from training.backtest import BacktestConfig, load_panel, run_backtest
    from training.forecast import load_units, train_forecast
    from warehouse.clickhouse import close_all
    from warehouse.settings import load_settings

    config = BacktestConfig()
    scratch = Path(tempfile.mkdtemp(prefix="bench-forecast-"))
    home = args.home or scratch / "medium"
    if args.home is None:
        started = time.perf_counter()
        prepare_medium(home)
        print(f"medium data prepared in {time.perf_counter() - started:.0f} s", flush=True)
    settings = load_settings(home=home)
    started = time.perf_counter()
    result = train_forecast(settings, config, on_step=lambda step: print(f"  {step} at {time.perf_counter() - started:.0f} s",
                                                                         flush=True), evaluate_only=args.evaluate_only)
    train_seconds = time.perf_counter() - started
    units = load_units(latest_run(settings, "demand_day").path)
    close_all()
    import mlflow

    last_fold = pd.read_parquet(mlflow.artifacts.download_artifacts(
        run_id=result.run_id, artifact_path="backtest/backtest_forecasts.parquet"))
    verdict = "not measured: --evaluate-only" if args.evaluate_only else (
        f"goal <= 600 s: {'met' if train_seconds <= 600 else 'MISSED'}")
    print(f"medium: train_forecast {train_seconds:.0f} s ({verdict}); "
          f"parts {({k: round(v) for k, v in result.seconds.items()})}; Prophet {result.prophet_series_per_second:.2f} series/s; "
          f"gate: {result.reason}")
    report("medium", result.summary, peer_scores(units, config, last_fold))

    if args.skip_online_retail:
        return
    retail_home = scratch / "online_retail"
    prepare_online_retail(retail_home)
    retail = load_settings(home=retail_home)
    run = latest_run(retail, "demand_day")
    close_all()
    columns = Columns.of(feature_set("demand_day"))
    units = load_units(run.path)
    top = units.groupby("sku", observed=True)["units"].sum().nlargest(500).index
    units = units[units["sku"].isin(top)]
    panel = load_panel(run.path, columns)
    panel = panel[panel["sku"].isin(top)].reset_index(drop=True)
    retail_config = BacktestConfig(prophet_levels=("store", "chain"))
    started = time.perf_counter()
    backtest = run_backtest(panel, units, columns, retail_config)
    print(f"\nonline retail: {units['sku'].nunique()} products, {units['store_id'].nunique()} countries, "
          f"backtest {time.perf_counter() - started:.0f} s")
    report("online retail", backtest.summary(), peer_scores(units, retail_config, backtest.forecasts))


if __name__ == "__main__":
    main()
