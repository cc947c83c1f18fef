"""The staffing model end to end on generated data whose hourly profiles are known (verdade.json):
the planted peak hours are found, the model beats the naive baselines, the champion loads from
the registry and plans a week (a new store gets the chain prior), the gate refreshes a
same-configuration champion, and too little data is a clear error."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest

from models.auto_forecast import fit_traffic
from tests.conftest import generated_warehouse
from training.staffing import (
    MODEL_NAME,
    StaffingConfig,
    StaffingTrainingError,
    plan_forecast,
    train_staffing,
)
from training.tracking import configure
from warehouse import generator
from warehouse.clickhouse import close_all

SCALE = generator.Scale(stores=4, skus=60, days=200, tickets_per_store_day=150)
CONFIG = StaffingConfig(horizon=7, folds=2)  # a week hour by hour: quick, and every weekday once


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    settings = generated_warehouse(tmp_path_factory.mktemp("staffing") / "home", SCALE, 3, ("traffic_hour",))
    result = train_staffing(settings, CONFIG)
    yield settings, result
    close_all()


def truth(settings) -> dict:
    return json.loads((settings.home / "data" / "verdade.json").read_text())


def test_the_planted_peak_hours_of_each_store_are_found(trained):
    settings, result = trained
    profiles = truth(settings)["store_profiles"]
    weekdays = result.plan[result.plan["date"].dt.day_of_week < 5]
    for store, rows in weekdays.groupby("store_id"):
        weights = dict(zip(range(generator.OPEN_HOUR, generator.OPEN_HOUR + 12), generator.PROFILES[profiles[store]]))
        third = sorted(weights.values(), reverse=True)[2]
        found = rows.groupby("hour")["tickets_p50"].mean().nlargest(3).index
        assert all(weights[h] >= third for h in found), (store, profiles[store], list(found))
        peak_hours = set(rows.loc[rows["peak"], "hour"])
        assert {h for h, w in weights.items() if w == max(weights.values())} <= peak_hours


def test_the_blend_beats_the_naive_members_with_calibrated_intervals(trained):
    _, result = trained
    scores = result.scores.set_index("model")
    assert {"ensemble", "seasonal_naive", "seasonal_average_4", "lightgbm", "mstl"} <= set(scores.index)
    served = scores.loc["ensemble"]
    assert result.served == "ensemble"
    assert served["wape"] <= scores.drop(index="ensemble")["wape"].min() + 1e-9
    assert served["wape"] < scores.loc["seasonal_average_4", "wape"] < scores.loc["seasonal_naive", "wape"]
    assert 0.7 <= served["coverage"] <= 0.95
    # The generator's season climbs through the backtest's October weeks, and every member that
    # reads its level on the last weeks runs 4-7% low there (none has the year before: on
    # 2026-12-06 the day x hour members -5.8%, the 8-week average -6.4%, the blend -5.7%). The plan
    # reads the expected count; an integer median would take about 9% more off (issue 17).
    assert abs(served["bias"]) < 0.08
    assert served["peak_hit"] > scores.loc["seasonal_naive", "peak_hit"]


def test_the_plan_covers_open_hours_with_the_schedule_and_tickets_values(trained):
    _, result = trained
    plan = result.plan
    assert plan["date"].nunique() == CONFIG.horizon
    assert set(plan["hour"]) == set(range(generator.OPEN_HOUR, generator.OPEN_HOUR + 12))
    assert (plan["sellers_needed"] >= 1).all() and (plan["tickets_p90"] >= plan["tickets_p50"]).all()
    # the plan reads the expected count, not the integer median of a count distribution (biased low)
    assert (plan["tickets_p50"] != plan["tickets_p50"].round()).mean() > 0.9
    busy = plan.groupby("hour")["sellers_needed"].mean()
    assert busy.max() > busy.min()  # peaks need more sellers than quiet hours
    assert plan["scheduled"].notna().mean() > 0.9  # the last published week repeated over the plan
    assert (plan.loc[plan["gap"] >= 0, "sales_at_risk"] == 0).all()
    assert not result.peaks.empty and (result.peaks["end"] > result.peaks["start"]).all()


def test_the_champion_plans_a_week_and_a_new_store_gets_the_chain_prior(trained):
    settings, result = trained
    assert result.promoted and result.reason == "no champion yet"
    configure(settings, MODEL_NAME)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    start = result.plan["date"].min()
    week = model.predict(pd.DataFrame({"store_id": ["L001"], "week_start": [str(start.date())], "plan_on": [None]}))
    assert week["date"].nunique() == 7 and (week["basis"] == "store").all()
    expected = result.plan[(result.plan["store_id"] == "L001") & (result.plan["date"] < start + pd.Timedelta(days=7))]
    assert week["sellers_needed"].tolist() == expected["sellers_needed"].tolist()
    lean = model.predict(pd.DataFrame({"store_id": ["L001"], "week_start": [str(start.date())], "plan_on": ["p50"]}))
    assert lean["sellers_needed"].sum() < week["sellers_needed"].sum()
    new = model.predict(pd.DataFrame({"store_id": ["L999"], "week_start": [None], "plan_on": [None]}))
    assert (new["basis"] == "chain prior").all() and new["scheduled"].isna().all() and len(new) == len(week)
    with pytest.raises(Exception, match="outside the forecast"):
        model.predict(pd.DataFrame({"store_id": ["L001"], "week_start": ["2030-01-01"], "plan_on": [None]}))


def test_a_refit_with_the_same_configuration_takes_over(trained):
    settings, first = trained
    again = train_staffing(settings, CONFIG)
    assert again.served == first.served
    assert again.promoted and again.reason == "same configuration as the champion, fitted on newer data"
    evaluation = train_staffing(settings, StaffingConfig(horizon=7, folds=1), evaluate_only=True)
    assert evaluation.version == "" and evaluation.plan.empty and evaluation.served == "ensemble"


def test_too_short_a_history_is_a_clear_error(trained):
    settings, _ = trained
    with pytest.raises(StaffingTrainingError, match="too little history to backtest"):
        train_staffing(settings, StaffingConfig(horizon=210, folds=1))  # 200 days of data


def test_a_store_too_new_for_its_own_pattern_is_planned_on_the_chain_prior():
    rng = np.random.default_rng(2)
    days = pd.date_range("2026-01-01", periods=120)
    rows = [(s, d + pd.Timedelta(hours=h), rng.poisson(6 if h in (12, 13) else 3), 5) for s in ("A", "B")
            for d in days for h in range(10, 20)]
    rows += [("NEW", days[-1] + pd.Timedelta(hours=h), rng.poisson(4), 5) for h in range(10, 20)]  # opened yesterday
    traffic = pd.DataFrame(rows, columns=["store_id", "hour_start", "tickets", "items"])
    forecast = plan_forecast(fit_traffic(traffic, horizon_days=7, folds=2), traffic)
    new = forecast[forecast["store_id"] == "NEW"]
    assert len(new) == 70 and (new["basis"] == "chain prior").all() and new["tickets_p50"].notna().all()
    older = forecast[forecast["store_id"] != "NEW"]
    assert (older["basis"] == "store").all()
    prior = older.groupby(["date", "hour"])["tickets_p50"].mean()
    np.testing.assert_allclose(new.set_index(["date", "hour"])["tickets_p50"], prior.loc[new.set_index(["date", "hour"]).index])
