"""The stock forecaster on generated data whose structure is known (verdade.json): it recovers the
planted promotion lift and the Dia das Mães peak, its quantiles are calibrated, the planned
features match the Spark ones, the MLflow model loads from the registry and predicts, and the
champion gate decides both ways."""

from __future__ import annotations

import json
from dataclasses import replace

import mlflow
import numpy as np
import pandas as pd
import pytest

from features.build import build, latest_run
from features.definitions import feature_set
from features.planned import planned_days
from models.forecast_pyfunc import UnknownSeriesError
from models.forecaster import Columns, DemandModel
from tests.conftest import REPO
from training.backtest import (
    BacktestConfig,
    ByDate,
    forecast_cells,
    load_panel,
    training_examples,
)
from training.forecast import (
    MODEL_NAME,
    ForecastTrainingError,
    load_units,
    train_forecast,
)
from warehouse import generator
from warehouse.clickhouse import close_all, connect
from warehouse.ingest import ingest
from warehouse.mapping import load_mapping
from warehouse.settings import load_settings

# Long enough for last year's Dia das Mães (11/05/2025) to be in the history of a late-April origin.
SCALE = generator.Scale(stores=3, skus=60, days=600, tickets_per_store_day=70)
MOTHERS_DAY = pd.Timestamp("2026-05-10")
SMALL = BacktestConfig(horizon=14, folds=2, train_days=196, max_train_rows=200_000, rounds=120,
                       prophet_levels=("store", "chain"))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    home = tmp_path_factory.mktemp("forecast") / "home"
    close_all()
    settings = load_settings(home=home, spark_master="local[2]", spark_driver_memory="2g", spark_shuffle_partitions=4)
    generator.SCALES["forecast-test"] = SCALE
    try:
        generator.generate("forecast-test", 11, home / "data")
    finally:
        del generator.SCALES["forecast-test"]
    ingest(connect(settings), settings, [home / "data"], load_mapping("cosmeticco"))
    build(settings, ("demand_day",))
    yield settings
    close_all()


@pytest.fixture(scope="module")
def panel(warehouse):
    run = latest_run(warehouse, "demand_day")
    columns = Columns.of(feature_set("demand_day"))
    return load_panel(run.path, columns), columns


def fitted_before(panel, cutoff: pd.Timestamp, horizon: int = 28):
    frame, columns = panel
    by_date = ByDate(frame)
    config = replace(SMALL, train_days=364, max_train_rows=400_000, rounds=200)
    model = DemandModel(columns).fit(training_examples(by_date, columns, cutoff, config, np.random.default_rng(1)),
                                     rounds=config.rounds)
    return model, forecast_cells(model, by_date, cutoff, horizon)


def test_the_dia_das_maes_peak_is_forecast_from_last_years(panel):
    model, cells = fitted_before(panel, MOTHERS_DAY - pd.Timedelta(days=14))
    daily = cells.groupby("date")[["mean", "actual"]].sum()
    ramp = daily.loc[MOTHERS_DAY - pd.Timedelta(days=6):MOTHERS_DAY]  # the planted lift builds over 7 days
    after = daily.loc[MOTHERS_DAY + pd.Timedelta(days=1):MOTHERS_DAY + pd.Timedelta(days=7)]
    actual_lift = ramp["actual"].sum() / after["actual"].sum()
    forecast_lift = ramp["mean"].sum() / after["mean"].sum()
    assert actual_lift > 1.3  # the planted effect is there
    assert forecast_lift > 1.25, (forecast_lift, actual_lift)
    assert abs(ramp["mean"].sum() / ramp["actual"].sum() - 1) < 0.2


def test_a_planned_promotion_lifts_the_forecast_as_planted(warehouse, panel):
    truth = json.loads(next((warehouse.home / "data").glob("verdade.json")).read_text())
    model, cells = fitted_before(panel, panel[0]["date"].max() - pd.Timedelta(days=28))
    promoted = cells[cells["promo_depth_pct"] >= 15]
    assert len(promoted) > 50
    without = promoted.assign(promo_depth_pct=0.0, promo_days_share=0.0, price=promoted["regular_price"],
                              price_vs_regular=1.0)
    lift = model.predict(promoted).sum() / model.predict(without).sum()
    planted = 1 + truth["promo_lift_per_discount_pct"] * promoted["promo_depth_pct"].mean()
    assert lift > 1 + 0.5 * (planted - 1), (lift, planted)


def test_planned_features_match_the_spark_ones_on_past_days(warehouse, panel):
    frame, columns = panel
    first = frame["date"].max() - pd.Timedelta(days=40)
    spark = frame[(frame["date"] >= first) & (frame["date"] < first + pd.Timedelta(days=21))]
    series = spark[["store_id", "sku"]].drop_duplicates().astype(str)
    planned = planned_days(warehouse, series, first.date(), 21)
    joined = spark.astype({"store_id": str, "sku": str}).merge(planned, on=["store_id", "sku", "date"],
                                                               suffixes=("", "_planned"))
    assert len(joined) == len(spark)
    for column in [c for c in columns.ahead if c != "units_lag_year"]:
        ours, theirs = joined[f"{column}_planned"], joined[column]
        if theirs.dtype.kind in "fi":
            np.testing.assert_allclose(ours.astype(float), theirs.astype(float), rtol=1e-5, err_msg=column)
        else:
            assert (ours.astype(str) == theirs.astype(str)).all(), column


def test_training_logs_registers_gates_and_the_champion_predicts(warehouse):
    first = train_forecast(warehouse, SMALL)
    assert first.promoted and first.reason == "no champion yet"
    summary = first.summary.set_index(["level", "model"])
    assert {"lightgbm", "seasonal_naive", "moving_average", "prophet"} <= set(summary.index.get_level_values(1))
    ours = summary.loc[("sku_store", "lightgbm")]
    assert ours["rmsse"] < summary.loc[("sku_store", "seasonal_naive"), "rmsse"]
    assert 0.6 < ours["coverage"] < 0.95
    # the same method on the same data: promoted as the fresher fit; a worse method is rejected
    again = train_forecast(warehouse, SMALL)
    assert again.promoted and "same configuration" in again.reason
    worse = train_forecast(warehouse, replace(SMALL, rounds=3, prophet_levels=()))
    assert not worse.promoted and ("not better" in worse.reason or "baselines" in worse.reason), worse.reason

    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert str(champion.version) == again.version
    assert client.get_model_version(MODEL_NAME, worse.version).tags["gate.decision"] == "rejected"
    artifacts = {a.path for a in client.list_artifacts(again.run_id, "plots")}
    assert {"plots/forecast_vs_actual.png", "plots/feature_importance.png", "plots/coverage.png"} <= artifacts

    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    pair = again.forecast[["store_id", "sku"]].iloc[0]
    got = model.predict(pd.DataFrame({"store_id": [pair.store_id], "sku": [pair.sku], "horizon_days": [7]}))
    assert len(got) == 7 and (got["p10"] <= got["p50"]).all() and (got["p50"] <= got["p90"]).all()
    expected = again.forecast[(again.forecast["store_id"] == pair.store_id) & (again.forecast["sku"] == pair.sku)]
    np.testing.assert_allclose(got["mean"].to_numpy(), expected["mean"].to_numpy()[:7], rtol=1e-6)
    with pytest.raises(UnknownSeriesError, match="L999/P404"):
        model.unwrap_python_model().predict(None, pd.DataFrame({"store_id": ["L999"], "sku": ["P404"]}))

    alerts = again.alerts
    assert set(alerts["store_id"]) == set(again.forecast["store_id"])
    per_store = alerts.groupby("store_id")["stockout_probability"]
    assert (per_store.apply(lambda p: p.is_monotonic_decreasing)).all()


def test_too_short_a_history_is_a_clear_error(warehouse):
    with pytest.raises(ForecastTrainingError, match="needs about"):
        train_forecast(warehouse, replace(SMALL, horizon=200))


def test_units_history_is_the_feature_table(warehouse):
    units = load_units(latest_run(warehouse, "demand_day").path)
    total = connect(warehouse).query("SELECT sum(units) FROM gold.daily_sales").result_rows[0][0]
    assert units["units"].sum() == pytest.approx(total)


def test_evaluate_only_logs_a_backtest_the_notebook_explores(warehouse, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    evaluation = train_forecast(warehouse, replace(SMALL, prophet_levels=()), evaluate_only=True)
    assert evaluation.version == "" and not evaluation.promoted
    assert mlflow.MlflowClient().get_run(evaluation.run_id).data.metrics["sku_store.lightgbm.rmsse"] > 0

    monkeypatch.setenv("VITRINE_HOME", str(warehouse.home))
    notebook = nbformat.read(REPO / "notebooks" / "forecast_backtest.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO)}}).execute()
    table = next(o for c in notebook.cells if c.cell_type == "code" and "rmsse_vs_seasonal_naive" in c.source
                 for o in c.outputs if o.get("output_type") == "execute_result")
    assert "sku_store" in table["data"]["text/plain"]
