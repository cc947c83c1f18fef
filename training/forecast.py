"""``vitrine train forecast`` / ``mlflow run . -e train_forecast``: backtest, fit, log, gate.

One run: read the newest ``demand_day`` feature table, score the forecaster against the baselines
and Prophet on rolling origins (training/backtest.py), fit the final model on all of it, forecast
the next ``horizon`` days for every series, turn that into a ranked stock alert list, and log it
all to MLflow as one run of the experiment ``stock-forecaster``; the model is registered as
``stock-forecaster`` and the champion gate decides whether it serves.

Gate rule (stated once, here): the candidate is scored by SKU × store RMSSE on this run's
backtest. It is never promoted if it does not beat both baselines there. Otherwise it is promoted
when there is no champion; when the champion has the same configuration (the same method refitted
on newer data: on the same folds it would score the same, so freshness decides); or when the
champion's configuration, scored on the *same* backtest (its logged score if its backtest had
the same feature run and folds, else re-scored now), has a strictly higher RMSSE.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import latest_run
from features.definitions import feature_set
from features.planned import planned_days
from features.reference import on_hand_at
from models.forecaster import KEYS, Columns, DemandModel, daily_forecast, examples
from models.stock_advice import alert_list
from training.backtest import (
    BacktestConfig,
    BacktestResult,
    ByDate,
    load_panel,
    run_backtest,
    training_examples,
)
from training.tracking import (
    configure,
    gate_against_champion,
    method_hash,
    tag_backtest,
)
from warehouse.settings import Settings

MODEL_NAME = "stock-forecaster"
GATE_METRIC = "sku_store.lightgbm.rmsse"  # as logged by log_backtest


class ForecastTrainingError(ValueError):
    """The data cannot support a forecast (no feature run, too short a history)."""


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
    summary: pd.DataFrame
    winners: dict[str, str]
    forecast: pd.DataFrame
    alerts: pd.DataFrame
    seconds: dict[str, float]
    prophet_series_per_second: float


def train_forecast(settings: Settings, config: BacktestConfig | None = None, policy: StockPolicy | None = None,
                   on_step: Callable[[str], None] = lambda _: None, evaluate_only: bool = False) -> ForecastTraining:
    """The whole training run (see the module docstring); returns what it decided and produced.

    ``evaluate_only``: the backtest alone, logged as a run (metrics, plots), no model registered.
    """
    import mlflow


    config, policy = replace(config or BacktestConfig(), country=settings.country), policy or StockPolicy()
    run = latest_run(settings, "demand_day")
    if run is None:
        raise ForecastTrainingError("no demand_day features yet: run `vitrine features build` first")
    columns = Columns.of(feature_set("demand_day"))
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    units = load_units(run.path)
    last = units["date"].max()
    panel = load_panel(run.path, columns, since=last - pd.Timedelta(days=config.train_days + (config.folds + 2)
                                                                    * config.horizon))
    seconds["load"] = time.perf_counter() - started

    on_step("backtest")
    started = time.perf_counter()
    try:
        backtest = run_backtest(panel, units, columns, config, on_step=on_step)
    except ValueError as exc:
        raise ForecastTrainingError(str(exc)) from exc
    seconds["backtest"] = time.perf_counter() - started
    configure(settings, MODEL_NAME)
    key = backtest_key(run.run_id, config)
    candidate = score_of(backtest)
    if evaluate_only:
        with mlflow.start_run() as active, tempfile.TemporaryDirectory() as scratch:
            _log_run(run, last, config, policy, backtest, key, Path(scratch))
            mlflow.set_tag("evaluate_only", "true")
        return ForecastTraining(active.info.run_id, "", False, "evaluation only: nothing registered",
                                backtest.summary(), backtest.winners(), pd.DataFrame(), pd.DataFrame(), seconds,
                                _series_per_second(backtest))

    on_step("final model")
    started = time.perf_counter()
    by_date = ByDate(panel)
    model = DemandModel(columns).fit(training_examples(by_date, columns, last, config, np.random.default_rng(config.seed)),
                                     rounds=config.rounds)
    state = future_inputs(settings, by_date.on(last), units, columns, last, config.horizon)
    forecast = daily_forecast(model, backtest.spread, state)
    alerts = alert_list(forecast.assign(sd=np.sqrt(forecast["var"])), on_hand_at(settings, last.date()),
                        last.date(), policy.lead_time_days, policy.review_days, policy.service_level)
    seconds["final"] = time.perf_counter() - started

    with mlflow.start_run() as active, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        _log_run(run, last, config, policy, backtest, key, folder)
        forecast.to_parquet(folder / "forecast.parquet")
        alerts.to_csv(folder / "stock_alerts.csv", index=False)
        mlflow.log_artifact(str(folder / "forecast.parquet"))
        mlflow.log_artifact(str(folder / "stock_alerts.csv"))
        from models.forecast_pyfunc import log_forecaster

        version = log_forecaster(model, backtest.spread, state, folder / "model", MODEL_NAME, config.horizon)
        blockers = [] if backtest.winners().get("sku_store") == "lightgbm" else [
            "does not beat the baselines at SKU × store"]
        decision = gate_against_champion(MODEL_NAME, version, GATE_METRIC, candidate, config_hash(config), key,
                                         lambda champion: rescore(champion, config, panel, units, columns),
                                         blockers=blockers)
        run_id = active.info.run_id
    return ForecastTraining(run_id, version, decision.promoted, decision.reason, backtest.summary(), backtest.winners(),
                            forecast, alerts, seconds, _series_per_second(backtest))


def _series_per_second(backtest: BacktestResult) -> float:
    return backtest.prophet_fits / backtest.prophet_seconds if backtest.prophet_seconds else float("nan")


def _log_run(run, last: pd.Timestamp, config: BacktestConfig, policy: StockPolicy, backtest: BacktestResult, key: str,
             folder: Path) -> None:
    import mlflow

    mlflow.log_params({**{f"config.{k}": v for k, v in asdict(config).items()}, **asdict(policy),
                       "feature_run": run.run_id, "as_of": str(run.as_of), "last_day": str(last.date())})
    tag_backtest(config_hash(config), key)
    mlflow.set_tag("winners", json.dumps(backtest.winners()))
    log_backtest(backtest, folder)


def load_units(path: Path) -> pd.DataFrame:
    """Every series' daily units (the whole table: scales and Prophet want long histories)."""
    import pyarrow.dataset as ds

    units = ds.dataset(str(path), format="parquet").to_table(
        columns=["store_id", "sku", "category", "date", "units", "stockout_days"]).to_pandas()
    if units.empty:
        raise ForecastTrainingError(f"the feature table {path} is empty")
    units["date"] = pd.to_datetime(units["date"])
    return units.astype({"store_id": "category", "sku": "category", "category": "category"})


def future_inputs(settings: Settings, origin_rows: pd.DataFrame, units: pd.DataFrame, columns: Columns,
                  last: pd.Timestamp, horizon: int) -> pd.DataFrame:
    """Model inputs for the ``horizon`` days after ``last``: history at ``last``, the plan for each day."""
    planned = planned_days(settings, origin_rows[KEYS].astype(str), (last + pd.Timedelta(days=1)).date(), horizon)
    year_ago = units[["store_id", "sku", "date", "units"]].assign(
        date=lambda f: f["date"] + pd.Timedelta(days=364)).rename(columns={"units": "units_lag_year"})
    year_ago = year_ago[year_ago["date"] > last].astype({"store_id": str, "sku": str})
    planned = planned.merge(year_ago, on=[*KEYS, "date"], how="left")
    rows = origin_rows.astype({"store_id": str, "sku": str})
    return examples(rows, planned, columns)


def score_of(backtest: BacktestResult) -> float:
    summary = backtest.summary().set_index(["level", "model"])
    return float(summary.loc[("sku_store", "lightgbm"), "rmsse"])


def config_hash(config: BacktestConfig) -> str:
    """What makes two candidates the same method (the folds' placement is the backtest's, not the method's)."""
    return method_hash({k: v for k, v in asdict(config).items() if k not in ("folds", "prophet_levels")})


def backtest_key(feature_run: str, config: BacktestConfig) -> str:
    return f"{feature_run}:{config.horizon}x{config.folds}"


def rescore(champion, config: BacktestConfig, panel: pd.DataFrame, units: pd.DataFrame, columns: Columns) -> float:
    """The champion run's method (its logged config) on this backtest: its RMSSE at SKU × store."""
    params = {k.removeprefix("config."): v for k, v in champion.data.params.items() if k.startswith("config.")}
    champion_config = replace(config, **{f: type(getattr(config, f))(params[f]) for f in
                                         ("train_days", "origin_step", "max_train_rows", "rounds", "seed") if f in params},
                              prophet_levels=())
    return score_of(run_backtest(panel, units, columns, champion_config))


def log_backtest(backtest: BacktestResult, folder: Path) -> None:
    """Metrics per level and model, the fold table, and the plots a data scientist looks at first."""
    import mlflow

    from training.plots import coverage_plot, forecast_plot, importance_plot

    for row in backtest.summary().itertuples(index=False):
        for metric in ("rmsse", "mase", "wape", "bias", "coverage", "quantile_loss"):
            value = getattr(row, metric)
            if pd.notna(value):
                mlflow.log_metric(f"{row.level}.{row.model}.{metric}", float(value))
    if backtest.prophet_seconds:
        mlflow.log_metric("prophet.series_per_second", _series_per_second(backtest))
    backtest.scores.to_csv(folder / "backtest_scores.csv", index=False)
    backtest.forecasts.to_parquet(folder / "backtest_forecasts.parquet")
    backtest.importance.rename("gain_share").to_csv(folder / "feature_importance.csv")
    for name in ("backtest_scores.csv", "backtest_forecasts.parquet", "feature_importance.csv"):
        mlflow.log_artifact(str(folder / name), "backtest")
    mlflow.log_figure(forecast_plot(backtest.forecasts), "plots/forecast_vs_actual.png")
    mlflow.log_figure(importance_plot(backtest.importance), "plots/feature_importance.png")
    mlflow.log_figure(coverage_plot(backtest.summary()), "plots/coverage.png")
