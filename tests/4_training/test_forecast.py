"""The stock forecaster on generated data whose structure is known (verdade.json): the pool
recovers the planted promotion lift from the plan and the Dia das Mães peak from last year's,
its quantiles are calibrated, the planned features match the Spark ones, every selling SKU gets a
forecast, the forecasts are published per store with the MLflow model pointing at them, and the
champion gate decides."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from features.build import latest_run
from features.definitions import feature_set
from features.planned import planned_days
from models.auto_forecast import fit_demand_panel
from models.forecast_pyfunc import UnknownSeriesError
from models.global_gbm import GlobalGBM
from models.stock_advice import alert_list
from tests.conftest import REPO, generated_warehouse
from training import chain_forecast
from training.forecast import (
    MODEL_NAME,
    ForecastConfig,
    ForecastTrainingError,
    StockPolicy,
    demand_history_panel,
    forecast_table,
    load_units,
    train_forecast,
)
from warehouse import forecasts, generator
from warehouse.clickhouse import close_all, connect

# Long enough for last year's Dia das Mães (11/05/2025) to be in the history of a late-April origin.
SCALE = generator.Scale(stores=3, skus=60, days=600, tickets_per_store_day=70)
MOTHERS_DAY = pd.Timestamp("2026-05-10")
SMALL = ForecastConfig(horizon=14, folds=2)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    settings = generated_warehouse(tmp_path_factory.mktemp("forecast") / "home", SCALE, 11, ("demand_day",))
    yield settings
    close_all()


@pytest.fixture(scope="module")
def first_run(warehouse):
    """The module's first training run (one process, SMALL): the registry's first champion."""
    return train_forecast(warehouse, SMALL)


@pytest.fixture(scope="module")
def spark_run(warehouse, first_run):
    """The module's second training run, the same method on the Spark executors (a store per task)."""
    return train_forecast(warehouse.model_copy(update={"forecast_engine": "spark"}), SMALL)


@pytest.fixture(scope="module")
def panel(warehouse):
    """The product's panel: store × SKU series, the plan as covariates, stock-outs unscored."""
    units = load_units(latest_run(warehouse, "demand_day").path)
    return demand_history_panel(warehouse, units, SMALL.horizon)


def position(panel, day: pd.Timestamp) -> int:
    return int(panel.index.get_loc(day))


def test_the_dia_das_maes_peak_is_forecast_from_last_years(panel):
    _, grid = panel
    origin = position(grid, MOTHERS_DAY - pd.Timedelta(days=14))
    fitted = fit_demand_panel(grid.upto(origin), horizon=28, folds=2)
    mean, _, _ = fitted.auto.predict()
    days = grid.index[origin + 1: origin + 29]
    forecast = pd.Series(mean.sum(axis=0), index=days)
    actual = pd.Series(np.nansum(grid.values[:, origin + 1: origin + 29], axis=0), index=days)
    ramp = slice(MOTHERS_DAY - pd.Timedelta(days=6), MOTHERS_DAY)  # the planted lift builds over 7 days
    after = slice(MOTHERS_DAY + pd.Timedelta(days=1), MOTHERS_DAY + pd.Timedelta(days=7))
    actual_lift = actual[ramp].sum() / actual[after].sum()
    forecast_lift = forecast[ramp].sum() / forecast[after].sum()
    assert actual_lift > 1.3  # the planted effect is there
    assert forecast_lift > 1.2, (forecast_lift, actual_lift)
    assert abs(forecast[ramp].sum() / actual[ramp].sum() - 1) < 0.2


def test_a_planned_promotion_lifts_the_forecast_as_planted(warehouse, panel):
    truth = json.loads(next((warehouse.home / "data").glob("verdade.json")).read_text())
    _, grid = panel
    origin = len(grid.index) - 1 - 28
    gbm = GlobalGBM(horizon=28).fit(grid.upto(origin))
    ahead = slice(origin + 1, origin + 29)
    depth = grid.covariates["on_promo"][:, ahead]
    promoted = depth >= 0.15
    assert promoted.sum() > 50
    with_plan = gbm.predict(28)["lightgbm"]
    regular = {name: plan.copy() for name, plan in grid.covariates.items()}
    regular["price_ratio"][:, ahead] = regular["price_ratio"][:, ahead] / (1 - depth)  # the list price
    regular["on_promo"][:, ahead] = 0.0
    gbm.panel = replace(gbm.panel, covariates=regular)
    without = gbm.predict(28)["lightgbm"]
    lift = with_plan[promoted].sum() / without[promoted].sum()
    planted = 1 + truth["promo_lift_per_discount_pct"] * 100 * depth[promoted].mean()
    assert lift > 1 + 0.5 * (planted - 1), (lift, planted)
    assert abs(with_plan[~promoted].sum() / without[~promoted].sum() - 1) < 0.05  # other days barely move


def test_planned_features_match_the_spark_ones_on_past_days(warehouse):
    ahead = [f.name for f in feature_set("demand_day").features if f.known_ahead and f.name != "units_lag_year"]
    frame = ds.dataset(str(latest_run(warehouse, "demand_day").path), format="parquet").to_table(
        columns=["store_id", "sku", "date", *ahead]).to_pandas()
    frame["date"] = pd.to_datetime(frame["date"])
    first = frame["date"].max() - pd.Timedelta(days=40)
    spark = frame[(frame["date"] >= first) & (frame["date"] < first + pd.Timedelta(days=21))]
    series = spark[["store_id", "sku"]].drop_duplicates().astype(str)
    planned = planned_days(warehouse, series, first.date(), 21)
    joined = spark.astype({"store_id": str, "sku": str}).merge(planned, on=["store_id", "sku", "date"],
                                                               suffixes=("", "_planned"))
    assert len(joined) == len(spark)
    for column in ahead:
        ours, theirs = joined[f"{column}_planned"], joined[column]
        if theirs.dtype.kind in "fi":
            np.testing.assert_allclose(ours.astype(float), theirs.astype(float), rtol=1e-5, err_msg=column)
        else:
            assert (ours.astype(str) == theirs.astype(str)).all(), column


def test_training_logs_registers_gates_and_the_champion_predicts(warehouse, first_run, spark_run):
    first, again = first_run, spark_run
    assert first.promoted and first.reason == "no champion yet"
    summary = first.summary.set_index(["level", "model"])
    assert {"sku_store", "store", "chain"} == set(summary.index.get_level_values(0))
    members = set(summary.loc["sku_store"].index) - {"ensemble"}
    assert {"lightgbm", "auto_ets", "adida", "tsb", "seasonal_naive", "window_average_28"} <= members
    ours = summary.loc[("sku_store", "ensemble")]
    assert ours["rmsse"] <= min(summary.loc[("sku_store", m), "rmsse"] for m in members) + 1e-9
    # the stores' and the chain's totals have a pool of their own, and calibrated intervals
    assert {"auto_ets_on_totals", "seasonal_naive_on_totals"} <= set(summary.loc["store"].index)
    assert all(0.6 < summary.loc[(level, "ensemble"), "coverage"] <= 1 for level in ("store", "chain"))
    assert ours["rmsse"] < 0.9 * summary.loc[("sku_store", "seasonal_naive"), "rmsse"]
    assert 0.7 < ours["coverage"] < 0.9
    assert all(abs(sum(w.values()) - 1) < 1e-9 for w in first.weights.values())
    # every series that sold in the last 90 days has its forecast, every day of the horizon
    units = load_units(latest_run(warehouse, "demand_day").path)
    recent = units[(units["date"] > units["date"].max() - pd.Timedelta(days=90)) & (units["units"] > 0)]
    forecast_pairs = set(zip(first.forecast["store_id"], first.forecast["sku"]))
    assert set(zip(recent["store_id"], recent["sku"])) <= forecast_pairs
    assert first.forecast.groupby(["store_id", "sku"]).size().eq(SMALL.horizon).all()

    # the same method on the same data (on the executors this time): the fresher fit
    assert again.promoted and "same configuration" in again.reason
    weekly = train_forecast(warehouse, replace(SMALL, horizon=10), StockPolicy(lead_time_days=3, review_days=4))
    # another horizon is not comparable on this backtest: the fresher model replaces it
    assert weekly.promoted and "cannot be scored" in weekly.reason

    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert str(champion.version) == weekly.version
    run = client.get_run(first.run_id)
    assert run.data.tags["reconciliation"].split()[0] in {"bottom_up", "store", "chain"}
    totals = pd.read_parquet(mlflow.artifacts.download_artifacts(run_id=first.run_id,
                                                                artifact_path="level_forecasts.parquet"))
    assert set(totals["level"]) == {"store", "chain"}
    assert ((totals["p10"] <= totals["p50"]) & (totals["p50"] <= totals["p90"])).all()
    store_sum = first.forecast.groupby(["store_id", "date"])["mean"].sum()
    store_totals = totals[totals["level"] == "store"].set_index(["group", "date"])["mean"]
    np.testing.assert_allclose(store_totals.loc[store_sum.index].to_numpy(), store_sum.to_numpy(), rtol=1e-6)
    assert run.data.metrics["sku_store.ensemble.rmsse"] == pytest.approx(first.summary.set_index(
        ["level", "model"]).loc[("sku_store", "ensemble"), "rmsse"])
    assert {"seconds.lightgbm", "seconds.auto_ets", "chain.ensemble.rmsse"} <= set(run.data.metrics)
    assert json.loads(run.data.tags["weights"]) == first.weights
    artifacts = {a.path for a in client.list_artifacts(first.run_id, "plots")}
    assert {"plots/forecast_vs_actual.png", "plots/feature_importance.png", "plots/coverage.png"} <= artifacts

    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    pair = weekly.forecast[["store_id", "sku"]].iloc[0]
    got = model.predict(pd.DataFrame({"store_id": [pair.store_id], "sku": [pair.sku], "horizon_days": [5]}))
    assert len(got) == 5 and (got["p10"] <= got["p50"]).all() and (got["p50"] <= got["p90"]).all()
    expected = weekly.forecast[(weekly.forecast["store_id"] == pair.store_id) & (weekly.forecast["sku"] == pair.sku)]
    np.testing.assert_allclose(got["mean"].to_numpy(), expected["mean"].to_numpy()[:5], rtol=1e-6)
    with pytest.raises(UnknownSeriesError, match="L999/P404"):
        model.unwrap_python_model().predict(None, pd.DataFrame({"store_id": ["L999"], "sku": ["P404"]}))

    alerts = weekly.alerts
    assert set(alerts["store_id"]) == set(weekly.forecast["store_id"])
    # forecasts are data: each store's rows in a file of its own, riskiest alerts first, every
    # row in the warehouse; the registered model only points at them, so it stays small
    folder = forecasts.forecasts_dir(warehouse) / weekly.run_id
    for store, rows in weekly.forecast.groupby("store_id"):
        published = forecasts.read_store(folder, "forecast", store)
        assert len(published) == len(rows) and set(published["store_id"]) == {store}
        ranked = forecasts.read_store(folder, "alerts", store)["stockout_probability"]
        assert len(ranked) == (alerts["store_id"] == store).sum() and ranked.is_monotonic_decreasing
    assert forecasts.read_store(folder, "forecast", "L999") is None
    stored = connect(warehouse).query(f"SELECT count(), round(sum(mean)) FROM {forecasts.TABLE} "
                                      "WHERE run_id = {run:String}", parameters={"run": weekly.run_id}).result_rows[0]
    assert stored == (len(weekly.forecast), round(weekly.forecast["mean"].sum()))
    model_files = Path(mlflow.artifacts.download_artifacts(f"models:/{MODEL_NAME}@champion"))
    payload = [p for p in model_files.rglob("*") if p.is_file() and "code" not in p.relative_to(model_files).parts]
    assert sum(p.stat().st_size for p in payload) < 50_000, [(p.name, p.stat().st_size) for p in payload]
    assert {p.name for p in forecasts.forecasts_dir(warehouse).iterdir()} >= {first.run_id, again.run_id, weekly.run_id}


def test_too_short_a_history_or_horizon_is_a_clear_error(warehouse):
    with pytest.raises(ForecastTrainingError, match="too little history to backtest"):
        train_forecast(warehouse, replace(SMALL, horizon=700))
    with pytest.raises(ForecastTrainingError, match="does not cover the lead time and review period"):
        train_forecast(warehouse, replace(SMALL, horizon=10))


def test_units_history_is_the_feature_table(warehouse):
    units = load_units(latest_run(warehouse, "demand_day").path)
    total = connect(warehouse).query("SELECT sum(units) FROM gold.daily_sales").result_rows[0][0]
    assert units["units"].sum() == pytest.approx(total)


def test_evaluate_only_logs_a_backtest_the_notebook_explores(warehouse, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    evaluation = train_forecast(warehouse, SMALL, evaluate_only=True)
    assert evaluation.version == "" and not evaluation.promoted
    assert mlflow.MlflowClient().get_run(evaluation.run_id).data.metrics["sku_store.ensemble.rmsse"] > 0

    monkeypatch.setenv("VITRINE_HOME", str(warehouse.home))
    notebook = nbformat.read(REPO / "notebooks" / "forecast_backtest.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO)}}).execute()
    table = next(o for c in notebook.cells if c.cell_type == "code" and "rmsse_vs_seasonal_naive" in c.source
                 for o in c.outputs if o.get("output_type") == "execute_result")
    assert "sku_store" in table["data"]["text/plain"] and "ensemble" in table["data"]["text/plain"]


def published_forecasts(settings, run_id: str) -> pd.DataFrame:
    folder = forecasts.forecasts_dir(settings) / run_id
    frame = pd.concat([pd.read_parquet(path) for path in (folder / "forecast").glob("*.parquet")])
    return frame.sort_values(["store_id", "sku", "date"], ignore_index=True)


def test_on_spark_every_store_is_scored_as_one_process_scores_it(warehouse, first_run, spark_run):
    """With room for every series in the sample, the Spark executors (a store per task) apply what
    the backtest chose (blend, LightGBM, reconciliation with the totals, intervals) and publish the
    very forecasts the one-process run makes."""
    alone, chain = first_run, spark_run
    ours = published_forecasts(warehouse, chain.run_id)
    theirs = alone.forecast.sort_values(["store_id", "sku", "date"], ignore_index=True)
    assert len(ours) == len(theirs) == len(alone.forecast)
    assert (ours[["store_id", "sku"]].to_numpy() == theirs[["store_id", "sku"]].to_numpy()).all()
    for column in ("mean", "p10", "p90"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-6, atol=1e-9, err_msg=column)
    assert chain.weights == alone.weights
    assert mlflow.MlflowClient().get_run(chain.run_id).data.params["engine"] == "spark"
    stored = {r[0] for r in connect(warehouse).query(f"SELECT DISTINCT run_id FROM {forecasts.TABLE}").result_rows}
    assert chain.run_id in stored
    # the report's riskiest alerts come back from the executors, riskiest first within a store
    assert set(chain.alerts["store_id"]) == set(ours["store_id"]) and len(chain.alerts) <= 5 * 3


def test_beyond_the_driver_budget_the_backtest_runs_on_a_stratified_sample(warehouse):
    settings = warehouse.model_copy(update={"forecast_driver_series": 60})
    chain = train_forecast(settings, SMALL)
    run = mlflow.MlflowClient().get_run(chain.run_id)
    total = int(run.data.params["series_total"])
    assert run.data.params["engine"] == "spark" and total == 180
    assert 60 <= int(run.data.params["series"]) <= 60 + 2 * 3  # rounding up in each store × segment stratum
    logged = {a.path for a in mlflow.MlflowClient().list_artifacts(chain.run_id)}
    assert "level_forecasts.parquet" not in logged  # the sample's totals are not the stores'
    published = published_forecasts(warehouse, chain.run_id)
    assert published.groupby(["store_id", "sku"]).ngroups == total  # every series, not only the sample's
    assert published.groupby(["store_id", "sku"]).size().eq(SMALL.horizon).all()
    assert ((published["p10"] <= published["p50"]) & (published["p50"] <= published["p90"])).all()
    assert published["mean"].sum() > 0


def test_the_executors_reconcile_with_the_totals_as_one_process_does(warehouse, panel, first_run):
    """Whichever levels anchor the series (the stores, the chain, or the stores then the chain), the
    factors the Spark path applies per store and day give the one-process reconciled forecasts (the
    backtest on this data picks bottom-up, so the anchors are set by hand here, on the first run's
    fitted pool, and set back after)."""
    pairs, _ = panel
    fitted, run = first_run.fitted, latest_run(warehouse, "demand_day")
    reconciliation = fitted.auto.reconciliation
    chosen = reconciliation.anchors
    try:
        reconciliation.anchors = ()
        bottom_up = forecast_table(fitted, pairs).sort_values(["store_id", "sku", "date"], ignore_index=True)
        for anchors in ((("store", 1.0),), (("chain", 0.5),), (("store", 1.0), ("chain", 0.5))):
            reconciliation.anchors = anchors
            anchor = "-".join(level for level, _ in anchors)
            expected = forecast_table(fitted, pairs).sort_values(["store_id", "sku", "date"], ignore_index=True)
            assert np.abs(expected["mean"] - bottom_up["mean"]).max() > 1e-3  # the anchor moves the forecasts
            staging = forecasts.start(warehouse, f"test-{anchor}")
            try:
                chain_forecast.score_and_publish(warehouse, run, fitted, SMALL.horizon, staging,
                                                 lambda f, s, d: alert_list(f, s, d, 7, 7), lambda _: None)
                got = pd.concat([pd.read_parquet(p) for p in (staging / "forecast").glob("*.parquet")])
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            got = got.sort_values(["store_id", "sku", "date"], ignore_index=True)
            for column in ("mean", "p10", "p90"):
                np.testing.assert_allclose(got[column], expected[column], rtol=1e-6, atol=1e-9,
                                           err_msg=f"{anchor} {column}")
    finally:
        reconciliation.anchors = chosen
