"""The staffing model as an MLflow pyfunc: ``models:/staffing@champion`` → a store's hourly plan.

It ships the served traffic forecast for the days after training (P10/P50/P90 tickets per store
× day × hour), the stores' basket sizes and ticket values, the last published schedule and the
staffing policy; a request (``store_id``, optional ``week_start``, optional ``plan_on``) gets the
seven days from ``week_start`` (default: the first forecast day) as plan rows (models/staffing.py),
with ``basis``: ``store`` or ``chain prior`` (the mean of the stores' forecasts at that hour): for
a store the model has no history for (no schedule then), or for the hours of a store too new for
the served model, so a new store gets a usable plan, not an error.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.types.schema import ColSpec, Schema

from models.staffing import (
    PLAN_COLUMNS,
    PlanContext,
    StaffingPolicy,
    schedule_for,
    staffing_plan,
)

INPUT = Schema([ColSpec("string", "store_id"), ColSpec("string", "week_start", required=False),
                ColSpec("string", "plan_on", required=False)])
OUTPUT = Schema([ColSpec("string", "store_id"), ColSpec("datetime", "date"), ColSpec("long", "hour"),
                 *(ColSpec("double", c) for c in ("tickets_p10", "tickets_p50", "tickets_p90", "items_p50",
                                                   "service_minutes")),
                 ColSpec("long", "sellers_needed"), ColSpec("double", "scheduled", required=False),
                 ColSpec("double", "gap", required=False), ColSpec("double", "sales_at_risk"),
                 ColSpec("boolean", "peak"), ColSpec("string", "basis")])
CHAIN_PRIOR = "chain prior"


class PlanOutOfRangeError(ValueError):
    """A week the forecast does not cover."""


class StaffingModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        folder = Path(context.artifacts["staffing"])
        self.forecast = pd.read_parquet(folder / "forecast.parquet")
        self.context = PlanContext(json.loads((folder / "items_per_ticket.json").read_text()),
                                   pd.read_parquet(folder / "ticket_value.parquet"),
                                   pd.read_parquet(folder / "on_duty.parquet"))
        self.policy = StaffingPolicy(**json.loads((folder / "policy.json").read_text()))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return plan_weeks(self.forecast, self.context, self.policy, model_input)


def plan_weeks(forecast: pd.DataFrame, context: PlanContext, policy: StaffingPolicy, requests: pd.DataFrame
               ) -> pd.DataFrame:
    """The plan rows of every request (see the module docstring)."""
    if "store_id" not in requests.columns:
        raise ValueError("the input needs a 'store_id' column")
    first, last = forecast["date"].min(), forecast["date"].max()
    parts = []
    for request in requests.to_dict("records"):
        store = str(request["store_id"])
        start = pd.Timestamp(request.get("week_start") or first).normalize()
        if start < first or start > last:
            raise PlanOutOfRangeError(f"week_start {start.date()} is outside the forecast "
                                      f"({first.date()} to {last.date()}); retrain for later weeks")
        days = pd.date_range(start, min(start + pd.Timedelta(days=6), last))
        chosen = replace(policy, plan_on=request.get("plan_on") or policy.plan_on)
        week = forecast[forecast["date"].isin(days)]
        if store in set(week["store_id"]):
            rows, basis = week[week["store_id"] == store], "store"
            schedule = schedule_for(context.on_duty[context.on_duty["store_id"] == store], days)
        else:
            rows, basis, schedule = chain_prior(week).assign(store_id=store, basis=CHAIN_PRIOR), CHAIN_PRIOR, None
        items = {store: context.items_per_ticket.get(store, pd.Series(context.items_per_ticket).median())}
        value = context.ticket_value
        if basis == CHAIN_PRIOR:
            value = value.groupby("hour", as_index=False)["ticket_value"].mean().assign(store_id=store)
        parts.append(staffing_plan(rows, chosen, items, schedule, value))
    if not parts:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    return pd.concat(parts, ignore_index=True).astype({"hour": "int64", "sellers_needed": "int64",
                                                       "scheduled": float, "gap": float})


def chain_prior(forecast: pd.DataFrame) -> pd.DataFrame:
    """The mean forecast of the stores open at each day and hour: the prior for a store with no history."""
    columns = ["tickets_p10", "tickets_p50", "tickets_p90", "items_p50"]
    return forecast.groupby(["date", "hour"], as_index=False)[columns].mean()
