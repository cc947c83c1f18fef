"""``vitrine train forecast`` / ``mlflow run . -e train_forecast``: the demand pool on the warehouse.

One run of the MLflow experiment ``stock-forecaster``:
1. read the newest ``demand_day`` feature table: units per store × SKU × day, the price and the
   promotion depth of each day; a day that ended out of stock is not scored (it sold less than
   its demand);
2. run the same pool, rolling backtest and per-segment blend as ``models.fit_demand`` (the public
   API; see models/ensemble.py), with the planned prices and promotions of the days ahead
   (features/planned.py) as the plan the global LightGBM reads; the pool is also fitted on the
   stores' and the chain's totals, and the series reconciled with them as the backtest chooses
   (models/reconcile.py: tag ``reconciliation``, ``backtest/reconciliation.csv``; the totals'
   own forecasts with calibrated P10–P90 in ``level_forecasts.parquet``);
3. score every member and the ensemble at SKU × store, store and chain (models/level_scores.py);
4. forecast the next ``horizon`` days, turn them into the ranked stock alerts, and log it all:
   each member's scores and seconds, the blend's weights, the plots;
5. write the forecasts to ``gold.demand_forecasts`` and publish them with the alerts, one file
   per store (warehouse/forecasts.py). The model registered as ``stock-forecaster`` points at
   them (models/forecast_pyfunc.py): it stays small, and the service opens one store at a time.

Gate rule (stated once, here): the candidate is scored by the ensemble's SKU × store RMSSE on this
run's backtest; by construction no single member of the pool scored lower there. It replaces the
champion when there is none, when the champion is this method (same horizon) fitted on older data,
or when the champion's method cannot be scored on this backtest (another horizon, or a model from
before the pool): the pool's choice on the freshest data is the forecast a manager should read.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import latest_run
from features.planned import planned_days
from features.reference import on_hand_at
from models.auto_forecast import FittedForecast, fit_demand_panel, store_and_chain
from models.level_scores import level_scores
from models.panel import Panel
from models.stock_advice import Z_90, alert_list
from training import chain_forecast
from training.tracking import (
    champion_run,
    configure,
    gate_against_champion,
    method_hash,
    tag_backtest,
)
from training.units import ForecastTrainingError, load_units, units_panel
from warehouse import forecasts
from warehouse.clickhouse import connect
from warehouse.settings import Settings

MODEL_NAME = "stock-forecaster"
GATE_METRIC = "sku_store.ensemble.rmsse"  # as logged by _log_run
LEVELS = ("sku_store", "store", "chain")


@dataclass(frozen=True)
class ForecastConfig:
    horizon: int = 28  # days forecast
    folds: int = 3  # rolling backtest origins, each ``horizon`` days apart


@dataclass(frozen=True)
class StockPolicy:
    lead_time_days: int = 7  # supplier lead time; one per category can be given to alert_list
    review_days: int = 7  # days between orders
    service_level: float = 0.95


@dataclass
class ForecastTraining:
    run_id: str
    version: str
    promoted: bool
    reason: str
    summary: pd.DataFrame  # level, model, rmsse, wape, bias, coverage
    weights: dict[str, dict[str, float]]  # segment → member → weight
    forecast: pd.DataFrame  # store_id, sku, date, mean, p10, p50, p90, sd
    alerts: pd.DataFrame
    seconds: dict[str, float]  # load, each member's backtest, final
    fitted: FittedForecast  # the pool as the backtest chose it, fitted on the whole history (to explore)


def train_forecast(settings: Settings, config: ForecastConfig | None = None, policy: StockPolicy | None = None,
                   on_step: Callable[[str], None] = lambda _: None, evaluate_only: bool = False) -> ForecastTraining:
    """The whole training run (see the module docstring); returns what it decided and produced.

    ``evaluate_only``: the backtest alone, logged as a run (metrics, plots), no model registered.
    """
    import mlflow

    config, policy = config or ForecastConfig(), policy or StockPolicy()
    if config.horizon < policy.lead_time_days + policy.review_days:
        raise ForecastTrainingError(f"a {config.horizon}-day horizon does not cover the lead time and review period "
                                    f"({policy.lead_time_days} + {policy.review_days} days) the stock advice needs")
    run = latest_run(settings, "demand_day")
    if run is None:
        raise ForecastTrainingError("no demand_day features yet: run `vitrine features build` first")
    started = time.perf_counter()
    series = chain_forecast.series_count(run)
    on_spark = settings.forecast_engine == "spark" or (
        settings.forecast_engine == "auto" and series > settings.forecast_driver_series)
    if on_spark:
        on_step(f"sampling {min(series, settings.forecast_driver_series):,} of {series:,} series on Spark")
        units, _ = chain_forecast.sample_units(settings, run, settings.forecast_driver_series)
    else:
        units = load_units(run.path)
    last = units["date"].max()
    pairs, panel = demand_history_panel(settings, units, config.horizon)
    seconds = {"load": time.perf_counter() - started}
    started = time.perf_counter()
    try:
        fitted = fit_demand_panel(panel, config.horizon, config.folds, on_step=on_step,
                                  levels=store_and_chain(pairs["store_id"].to_numpy(), len(pairs)))
    except ValueError as exc:
        raise ForecastTrainingError(str(exc)) from exc
    seconds["pool"] = time.perf_counter() - started
    seconds.update({f"member.{name}": s for name, s in fitted.auto.member_seconds.items()})
    on_step("scores per level")
    summary, at_levels = level_scores(fitted.auto, level_groups(pairs))
    forecast = pd.DataFrame(columns=[*forecasts.COLUMNS, "sd"]) if on_spark else forecast_table(fitted, pairs)
    configure(settings, MODEL_NAME)
    key = f"{run.run_id}:{config.horizon}x{config.folds}"
    with mlflow.start_run() as active, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        on_step("logging to MLflow")
        _log_run(run, last, config, policy, fitted, summary, at_levels, pairs, key, folder, sampled=on_spark)
        mlflow.log_params({"engine": "spark" if on_spark else "driver", "series_total": series})
        if evaluate_only:
            mlflow.set_tag("evaluate_only", "true")
            return ForecastTraining(active.info.run_id, "", False, "evaluation only: nothing registered", summary,
                                    fitted.weights, forecast, pd.DataFrame(), seconds, fitted)
        run_id = active.info.run_id

        def advise(forecast: pd.DataFrame, on_hand: pd.DataFrame, day) -> pd.DataFrame:
            return alert_list(forecast, on_hand, day, policy.lead_time_days, policy.review_days, policy.service_level)

        if on_spark:
            staging = forecasts.start(settings, run_id)
            try:
                alerts = chain_forecast.score_and_publish(settings, run, fitted, config.horizon, staging, advise, on_step)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            published = forecasts.commit(settings, run_id, staging)
        else:
            alerts = advise(forecast, on_hand_at(settings, last.date()), last.date())
            on_step("publishing the forecasts per store")
            published = forecasts.publish(settings, run_id, forecast, alerts)
        forecasts.insert(connect(settings), run_id, published)
        from training.registration import log_forecaster

        version = log_forecaster(published, pairs, folder / "model", MODEL_NAME)
        candidate = float(summary.set_index(["level", "model"]).loc[("sku_store", "ensemble"), "rmsse"])
        decision = gate_against_champion(MODEL_NAME, version, GATE_METRIC, candidate, config_hash(config), key,
                                         rescore=lambda champion: None)
    champion = champion_run(MODEL_NAME)
    forecasts.prune(settings, keep={run_id, champion.info.run_id if champion else run_id})
    return ForecastTraining(active.info.run_id, version, decision.promoted, decision.reason, summary, fitted.weights,
                            forecast, alerts, seconds, fitted)


def demand_history_panel(settings: Settings, units: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, Panel]:
    """The store × SKU pairs (row k is the panel's series k) and their panel, with the plan for
    the ``horizon`` days ahead and the out-of-stock days left unscored."""
    pairs = units[["store_id", "sku"]].drop_duplicates().reset_index(drop=True)
    plan = planned_days(settings, pairs, (units["date"].max() + pd.Timedelta(days=1)).date(), horizon)
    return pairs, units_panel(units, pairs, plan, settings.country)


def level_groups(pairs: pd.DataFrame) -> dict[str, np.ndarray]:
    """The group of each series at each level (``pairs`` in the panel's series order)."""
    return {"sku_store": np.arange(len(pairs)), "store": pd.factorize(pairs["store_id"], sort=True)[0],
            "chain": np.zeros(len(pairs), int)}


def forecast_table(fitted: FittedForecast, pairs: pd.DataFrame) -> pd.DataFrame:
    """``store_id, sku, date, mean, p10, p50, p90, sd`` for every series and day ahead; ``sd`` is
    read from the calibrated P90 (P90 = mean + 1.2816 sd), as the stock advice wants it."""
    frame = fitted.predict()
    keys = pairs.iloc[frame["series_id"].to_numpy()].reset_index(drop=True)
    out = pd.concat([keys, frame[["date", "mean", "p10", "p50", "p90"]].reset_index(drop=True)], axis=1)
    out["sd"] = ((out["p90"] - out["mean"]) / Z_90).clip(lower=0)
    return out


def config_hash(config: ForecastConfig) -> str:
    """What makes two candidates the same method: the pool (this code) and the horizon it serves."""
    return method_hash({"engine": "pool", "horizon": config.horizon})


def _log_run(run, last: pd.Timestamp, config: ForecastConfig, policy: StockPolicy, fitted: FittedForecast,
             summary: pd.DataFrame, at_levels: dict[str, np.ndarray], pairs: pd.DataFrame, key: str,
             folder: Path, sampled: bool = False) -> None:
    """Parameters, each member's and the ensemble's scores per level, the weights, the plots."""
    import matplotlib.pyplot as plt
    import mlflow

    from training.plots import coverage_plot, forecast_plot, importance_plot

    mlflow.log_params({**{f"config.{k}": v for k, v in asdict(config).items()}, **asdict(policy),
                       "feature_run": run.run_id, "as_of": str(run.as_of), "last_day": str(last.date()),
                       "series": len(pairs), "members": ",".join(n for n in fitted.scores.index if n != "ensemble")})
    tag_backtest(config_hash(config), key)
    mlflow.set_tag("weights", json.dumps(fitted.weights))
    reconciliation = fitted.auto.reconciliation  # None for a single series: nothing to add up
    mlflow.set_tag("reconciliation", reconciliation.choice if reconciliation else "none")
    (reconciliation.candidates if reconciliation else pd.DataFrame()).to_csv(folder / "reconciliation.csv")
    for row in summary.itertuples(index=False):
        for metric in ("rmsse", "wape", "bias", "coverage"):
            value = getattr(row, metric)
            if pd.notna(value):
                mlflow.log_metric(f"{row.level}.{row.model}.{metric}", float(value))
    mlflow.log_metrics({f"seconds.{name}": s for name, s in fitted.auto.member_seconds.items()})
    summary.to_csv(folder / "backtest_scores.csv", index=False)
    (folder / "weights.json").write_text(json.dumps(fitted.weights, indent=2))
    curves = backtest_curves(fitted, at_levels, pairs)
    curves.to_parquet(folder / "backtest_forecasts.parquet")
    if not sampled:  # a sample's store totals are not the stores' totals: no file that says they are
        fitted.levels().to_parquet(folder / "level_forecasts.parquet")
        mlflow.log_artifact(str(folder / "level_forecasts.parquet"))
    for name in ("backtest_scores.csv", "weights.json", "backtest_forecasts.parquet", "reconciliation.csv"):
        mlflow.log_artifact(str(folder / name), "backtest")
    figures = {"plots/forecast_vs_actual.png": forecast_plot(curves), "plots/coverage.png": coverage_plot(summary)}
    importance = gbm_importance(fitted)
    if importance is not None:
        figures["plots/feature_importance.png"] = importance_plot(importance)
    for path, figure in figures.items():
        mlflow.log_figure(figure, path)
        plt.close(figure)  # pyplot keeps every figure open otherwise: memory grows run after run


def backtest_curves(fitted: FittedForecast, at_levels: dict[str, np.ndarray], pairs: pd.DataFrame) -> pd.DataFrame:
    """The ensemble against the actuals on every fold, at the store and chain levels and for the
    ten busiest series: ``level, series, fold, date, mean, p10, p90, actual``."""
    bt = fitted.auto.backtest
    steps = at_levels["chain"].shape[-1]
    stores = sorted(pairs["store_id"].unique())
    busiest = np.argsort(-np.nansum(at_levels["sku_store:actual"], axis=(0, 2)))[:10]
    names = {"chain": (["chain"], slice(None)), "store": (stores, slice(None)),
             "sku_store": ([f"{pairs.store_id[k]}/{pairs.sku[k]}" for k in busiest], busiest)}
    parts = []
    for level, (labels, rows) in names.items():
        for fold, origin in enumerate(bt.origins, 1):
            dates = pd.date_range(origin + pd.Timedelta(days=1), periods=steps)
            picked = {column: at_levels[key][fold - 1][rows] for column, key in
                      (("mean", level), ("p10", f"{level}:p10"), ("p90", f"{level}:p90"), ("actual", f"{level}:actual"))}
            for position, label in enumerate(labels):
                parts.append(pd.DataFrame({"level": level, "series": label, "fold": fold, "date": dates,
                                           **{column: values[position] for column, values in picked.items()}}))
    return pd.concat(parts, ignore_index=True)


def gbm_importance(fitted: FittedForecast) -> pd.Series | None:
    """The global LightGBM's share of gain per feature (its last fit), when the pool has one."""
    from models.global_gbm import GlobalGBM

    for member in fitted.auto.members:
        if isinstance(member, GlobalGBM) and member.booster is not None:
            gain = pd.Series(member.booster.feature_importance("gain"), index=member.feature_names)
            return (gain / max(gain.sum(), 1e-12)).sort_values(ascending=False)
    return None

