"""``vitrine train staffing`` / ``mlflow run . -e train_staffing``: the traffic pool, the plan, log, gate.

One run of the MLflow experiment ``staffing``:
1. read the newest ``traffic_hour`` features: tickets per store × open hour;
2. run the same pool, rolling backtest and blend as ``models.fit_traffic`` (the public API; see
   models/ensemble.py): ``folds`` origins ``horizon`` days apart, every member (same hour last
   week, the mean of the same hour over 4 and 8 weeks, level × weekly profile, statsforecast's
   MSTL, the global LightGBM) forecasting every store hour by hour; greedy ensemble selection on
   pooled WAPE; calibrated P10/P90;
3. score every member and the blend on the backtest: hourly WAPE, bias, P10–P90 coverage and the
   peak-hour hit rate (the hours the plan adds sellers for);
4. forecast the next ``horizon`` days with the blend (the point is the expected count, never an
   integer median) and turn them into the staffing plan (models/staffing.py) against the
   published schedule; log the plan, register ``staffing``.

Gate rule, as for the forecaster: the candidate is the blend's pooled WAPE on this backtest, which
no single member beat. It replaces the champion when there is none, when the champion is the same
method (same horizon) fitted on older data, or when the champion's method cannot be scored on this
backtest (another horizon, or a model from before the pool).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import latest_run
from features.reference import shifts, ticket_value
from models.auto_forecast import FittedTraffic, fit_traffic
from models.metrics import bias, coverage, wape
from models.staffing import (
    PlanContext,
    StaffingPolicy,
    peak_windows,
    schedule_for,
    scheduled_sellers,
    staffing_plan,
)
from training.tracking import (
    configure,
    gate_against_champion,
    method_hash,
    tag_backtest,
)
from warehouse.settings import Settings

MODEL_NAME = "staffing"
GATE_METRIC = "served.wape"
SERVED = "ensemble"


class StaffingTrainingError(ValueError):
    """The traffic data cannot support a forecast (no feature run, too short a history)."""


@dataclass(frozen=True)
class StaffingConfig:
    horizon: int = 14  # days forecast, hour by hour
    folds: int = 3  # rolling backtest origins, each ``horizon`` days apart


@dataclass
class StaffingTraining:
    run_id: str
    version: str
    promoted: bool
    reason: str
    served: str
    scores: pd.DataFrame
    plan: pd.DataFrame
    peaks: pd.DataFrame
    seconds: dict[str, float]
    weights: dict[str, dict[str, float]]


def load_traffic(path: Path) -> pd.DataFrame:
    """Tickets and items per store and open hour: ``store_id, hour_start, tickets, items``."""
    import pyarrow.dataset as ds

    frame = ds.dataset(str(path), format="parquet").to_table(
        columns=["store_id", "date", "hour", "tickets", "items"]).to_pandas()
    if frame.empty:
        raise StaffingTrainingError(f"the feature table {path} has no rows")
    hour_start = pd.to_datetime(frame["date"]) + pd.to_timedelta(frame["hour"].astype(int), unit="h")
    return pd.DataFrame({"store_id": frame["store_id"].astype(str), "hour_start": hour_start,
                         "tickets": frame["tickets"].astype(float), "items": frame["items"].astype(float)})


def train_staffing(settings: Settings, config: StaffingConfig | None = None, policy: StaffingPolicy | None = None,
                   on_step: Callable[[str], None] = lambda _: None, evaluate_only: bool = False) -> StaffingTraining:
    """The whole training run (see the module docstring)."""
    import mlflow

    config, policy = config or StaffingConfig(), policy or StaffingPolicy()
    run = latest_run(settings, "traffic_hour")
    if run is None:
        raise StaffingTrainingError("no traffic_hour features yet: run `vitrine features build` first")
    traffic = load_traffic(run.path)
    started = time.perf_counter()
    try:
        fitted = fit_traffic(traffic, config.horizon, settings.country, config.folds, on_step=on_step)
    except ValueError as exc:
        raise StaffingTrainingError(str(exc)) from exc
    seconds = {"pool": time.perf_counter() - started,
               **{f"member.{k}": v for k, v in fitted.auto.member_seconds.items()}}
    forecasts = backtest_frame(fitted)
    scores = score(forecasts, ["model"])
    configure(settings, MODEL_NAME)
    key = f"{run.run_id}:{config.horizon}x{config.folds}"
    with mlflow.start_run() as active, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        mlflow.log_params({**{f"config.{k}": v for k, v in asdict(config).items()},
                           **{f"policy.{k}": v for k, v in asdict(policy).items()},
                           "feature_run": run.run_id, "as_of": str(run.as_of), "served": SERVED,
                           "members": ",".join(n for n in fitted.scores.index if n != SERVED)})
        mlflow.set_tag("weights", json.dumps(fitted.weights))
        tag_backtest(config_hash(config), key)
        _log_backtest(forecasts, scores, fitted, folder)
        if evaluate_only:
            mlflow.set_tag("evaluate_only", "true")
            return StaffingTraining(active.info.run_id, "", False, "evaluation only: nothing registered", SERVED,
                                    scores, pd.DataFrame(), pd.DataFrame(), seconds, fitted.weights)
        on_step("the staffing plan")
        started = time.perf_counter()
        forecast = plan_forecast(fitted, traffic)
        context = plan_context(settings, traffic)
        plan = staffing_plan(forecast, policy, context.items_per_ticket,
                             schedule_for(context.on_duty, pd.DatetimeIndex(forecast["date"].unique())),
                             context.ticket_value)
        peaks = peak_windows(plan)
        seconds["plan"] = time.perf_counter() - started
        plan.to_csv(folder / "staffing_plan.csv", index=False)
        peaks.to_csv(folder / "peak_windows.csv", index=False)
        mlflow.log_artifact(str(folder / "staffing_plan.csv"))
        mlflow.log_artifact(str(folder / "peak_windows.csv"))
        from training.registration import log_staffing

        version = log_staffing(forecast, context, policy, folder / "model", MODEL_NAME)
        candidate = float(scores.set_index("model").loc[SERVED, "wape"])
        decision = gate_against_champion(MODEL_NAME, version, GATE_METRIC, candidate, config_hash(config), key,
                                         rescore=lambda champion: None)
    return StaffingTraining(active.info.run_id, version, decision.promoted, decision.reason, SERVED, scores, plan, peaks,
                            seconds, fitted.weights)


def backtest_frame(fitted: FittedTraffic) -> pd.DataFrame:
    """Every member's and the blend's backtest forecasts on the open hours: ``model, fold,
    store_id, date, hour, actual, point, p10, p90`` (intervals for the blend only)."""
    auto = fitted.auto
    bt = auto.backtest
    low, high = auto.backtest_bounds()
    models = {**dict(zip(bt.names, bt.forecasts)), SERVED: auto.blend}
    fold, store, step = np.nonzero(np.isfinite(bt.actual))
    hours = np.array([origin + pd.Timedelta(hours=1) for origin in bt.origins], dtype="datetime64[ns]")[fold] \
        + (step * np.timedelta64(1, "h"))
    stamps = pd.DatetimeIndex(hours)
    base = {"fold": fold, "store_id": np.asarray(auto.panel.ids)[store], "date": stamps.normalize(),
            "hour": stamps.hour, "actual": bt.actual[fold, store, step]}
    parts = [pd.DataFrame({**base, "model": name, "point": forecast[fold, store, step],
                           "p10": low[fold, store, step] if name == SERVED else np.nan,
                           "p90": high[fold, store, step] if name == SERVED else np.nan})
             for name, forecast in models.items()]
    return pd.concat(parts, ignore_index=True)


def score(forecasts: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """WAPE, bias and P10–P90 coverage of ``point`` per group, and the peak hit rates (see :func:`peak_days`).

    A model with no forecast for some rows is scored on the rows it has; ``rows`` says how many.
    """
    rows = []
    for key, group in forecasts.dropna(subset=["point"]).groupby(by):
        has_interval = group["p10"].notna().any()
        rows.append({**dict(zip(by, key)), "wape": wape(group["actual"], group["point"]),
                     "bias": bias(group["actual"], group["point"]),
                     "coverage": coverage(group["actual"], group["p10"], group["p90"]) if has_interval else np.nan,
                     "rows": len(group)})
    hits = peak_days(forecasts).groupby(by, as_index=False)[["peak_hit", "peak_days_all_3"]].mean()
    return pd.DataFrame(rows).merge(hits, on=by, how="left")


def peak_days(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Per model, fold, store and day: of the three busiest forecast hours, the share that are among
    the day's three busiest actual hours (``peak_hit``; ties in the actual counts count as top-3),
    and whether all three are (``peak_days_all_3``)."""
    keys = ["model", "fold", "store_id", "date"]
    f = forecasts.dropna(subset=["point", "actual"])
    ranked = f.sort_values([*keys, "actual"], ascending=[True] * 4 + [False])
    third = ranked[ranked.groupby(keys).cumcount() == 2].set_index(keys)["actual"].rename("third")
    top = f.sort_values([*keys, "point", "hour"], ascending=[True] * 4 + [False, True]).groupby(keys).head(3)
    top = top.join(third, on=keys, how="inner")
    top["hit"] = top["actual"] >= top["third"]
    return top.groupby(keys)["hit"].agg(peak_hit="mean", peak_days_all_3="all").reset_index()


def plan_forecast(fitted: FittedTraffic, traffic: pd.DataFrame) -> pd.DataFrame:
    """The blend's forecast for the horizon in the plan's columns: tickets P10/P50/P90 per store,
    day and open hour (P50 is the expected count), and the items they bring. A store with less
    than ``NEW_STORE_DAYS`` of history is planned on the chain prior (see :func:`with_chain_prior`)."""
    rows = fitted.predict()
    stamps = pd.DatetimeIndex(rows["hour_start"])
    forecast = pd.DataFrame({"store_id": rows["store_id"].to_numpy(), "date": stamps.normalize(), "hour": stamps.hour,
                             "tickets_p10": rows["p10"].to_numpy(), "tickets_p50": rows["mean"].to_numpy(),
                             "tickets_p90": rows["p90"].to_numpy(), "basis": "store"})
    first = traffic.groupby("store_id")["hour_start"].min()
    young = first[first > traffic["hour_start"].max() - pd.Timedelta(days=NEW_STORE_DAYS)].index
    ratio = items_per_ticket(traffic)
    return with_chain_prior(forecast, set(young)).assign(items_p50=lambda f: f["tickets_p50"] * f["store_id"].map(ratio))


NEW_STORE_DAYS = 14  # history a store needs before its own same-hour patterns are trusted


def with_chain_prior(forecast: pd.DataFrame, young: set[str]) -> pd.DataFrame:
    """The ``young`` stores are planned on the mean of the other stores at each day and open hour,
    marked ``chain prior``: a store open a few days has no weekly pattern (nor opening days) of its
    own to repeat yet."""
    columns = ["tickets_p10", "tickets_p50", "tickets_p90"]
    new = forecast["store_id"].isin(young)
    if not new.any() or new.all():
        return forecast
    prior = forecast[~new].groupby(["date", "hour"], as_index=False)[columns].mean()
    planned = [prior.assign(store_id=store, basis="chain prior") for store in sorted(young)]
    return pd.concat([forecast[~new], *planned], ignore_index=True)[list(forecast.columns)]


def items_per_ticket(traffic: pd.DataFrame, days: int = 28) -> dict[str, float]:
    """Each store's items per ticket over the last ``days`` days of data."""
    recent = traffic[traffic["hour_start"] > traffic["hour_start"].max() - pd.Timedelta(days=days)]
    totals = recent.groupby("store_id")[["items", "tickets"]].sum()
    return {store: float(items / tickets) if tickets else float("nan")
            for store, items, tickets in zip(totals.index, totals["items"], totals["tickets"])}


def plan_context(settings: Settings, traffic: pd.DataFrame, weeks: int = 8) -> PlanContext:
    last = traffic["hour_start"].max().normalize()
    since = (last - pd.Timedelta(weeks=weeks)).date()
    return PlanContext(items_per_ticket(traffic), ticket_value(settings, since, last.date()),
                       scheduled_sellers(shifts(settings, since)))


def config_hash(config: StaffingConfig) -> str:
    """What makes two candidates the same method: the pool (this code) and the horizon it serves."""
    return method_hash({"engine": "pool", "horizon": config.horizon})


def _log_backtest(forecasts: pd.DataFrame, scores: pd.DataFrame, fitted: FittedTraffic, folder: Path) -> None:
    import mlflow

    from training.plots import traffic_plot

    for row in scores.itertuples(index=False):
        for metric in ("wape", "bias", "coverage", "peak_hit", "peak_days_all_3"):
            value = getattr(row, metric)
            if pd.notna(value):
                mlflow.log_metric(f"{row.model}.{metric}", float(value))
                if row.model == SERVED:
                    mlflow.log_metric(f"served.{metric}", float(value))
    mlflow.log_metrics({f"seconds.{name}": s for name, s in fitted.auto.member_seconds.items()})
    score(forecasts, ["model", "store_id"]).to_csv(folder / "store_scores.csv", index=False)
    forecasts.to_parquet(folder / "backtest_forecasts.parquet")
    for name in ("store_scores.csv", "backtest_forecasts.parquet"):
        mlflow.log_artifact(str(folder / name), "backtest")
    mlflow.log_figure(traffic_plot(forecasts, SERVED), "plots/traffic_vs_actual.png")
