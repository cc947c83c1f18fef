"""``vitrine train staffing`` / ``mlflow run . -e train_staffing``: backtest, choose, fit, plan, log, gate.

One run of the MLflow experiment ``staffing``:
1. read the newest ``traffic_hour`` features (tickets per store × open day × trading hour);
2. **backtest** on ``folds`` rolling origins, each forecasting the next ``horizon`` days: the
   LightGBM model (models/traffic.py), Prophet per store (models/prophet_hourly.py) and the naive
   "same hour last week" and "mean of the last 4 same hours", all on the same rows; scored by
   hourly WAPE and bias per store and pooled, P10–P90 coverage, and the peak-hour hit rate;
3. **choose** (the rule): one model serves every store, the one of LightGBM and Prophet with the
   lowest pooled WAPE over the folds; per-store choices over three folds of noisy hourly counts
   would mostly pick noise. It is served only if it beats both naive baselines;
4. fit it on all the data, forecast the next ``horizon`` days and turn them into the staffing plan
   (models/staffing.py) against the published schedule; log the plan, register ``staffing``.

Gate rule, as for the other models: the candidate's pooled WAPE on this backtest (lower is
better); never promoted without beating the naive baselines; promoted when there is no champion,
when the champion is the same configuration refitted on newer data, or when the champion's
configuration scores a higher WAPE on this very backtest (its logged score when it ran on the
same feature run and folds, else re-run now).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import latest_run
from features.reference import promotions_between, shifts, ticket_value
from models.metrics import bias, coverage, wape
from models.staffing import (
    PlanContext,
    StaffingPolicy,
    peak_windows,
    schedule_for,
    scheduled_sellers,
    staffing_plan,
)
from models.traffic import (
    BASELINES,
    TrafficHistory,
    TrafficModel,
    examples,
    target_rows,
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
SERVABLE = ("lightgbm", "prophet")
MIN_HISTORY_DAYS = 28  # the first training origin needs four weeks of same-hour history behind it


class StaffingTrainingError(ValueError):
    """The traffic data cannot support a forecast (no feature run, too short a history)."""


@dataclass(frozen=True)
class StaffingConfig:
    horizon: int = 14
    folds: int = 3
    train_origins: int = 26  # weekly origins per LightGBM fit (half a year)
    holdout_origins: int = 2  # the most recent of them, kept out of the fit to measure the dispersion
    rounds: int = 300
    prophet: bool = True
    prophet_weeks: int = 16


@dataclass
class Backtest:
    forecasts: pd.DataFrame  # fold, store_id, date, hour, actual, model, point, p10, p90
    seconds: float

    def scores(self) -> pd.DataFrame:
        """Pooled scores per model: WAPE, bias, P10–P90 coverage, peak hit rates, stores scored."""
        return score(self.forecasts, ["model"])

    def store_scores(self) -> pd.DataFrame:
        return score(self.forecasts, ["model", "store_id"])


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


def load_history(path: Path, extra_days: int = 0, country: str = "BR") -> TrafficHistory:
    import pyarrow.dataset as ds

    frame = ds.dataset(str(path), format="parquet").to_table(
        columns=["store_id", "date", "hour", "tickets", "items", "promotions_running"]).to_pandas()
    try:
        return TrafficHistory.of(frame, extra_days, country)
    except ValueError as exc:
        raise StaffingTrainingError(f"the feature table {path} has no rows: {exc}") from exc


def fold_origins(history: TrafficHistory, config: StaffingConfig) -> list[int]:
    """The last day known at each fold, oldest first; the folds' windows tile the last days."""
    origins = [history.last - config.horizon * (i + 1) for i in range(config.folds)][::-1]
    if training_origins(origins[0], config) is None:
        raise StaffingTrainingError(
            f"the traffic history spans {history.last + 1} days; {config.folds} folds of {config.horizon} days need at "
            f"least {MIN_HISTORY_DAYS + (config.folds + 2) * config.horizon + 21} (reduce --folds or --horizon)")
    return origins


def training_origins(origin: int, config: StaffingConfig) -> list[int] | None:
    """Weekly origins whose whole horizon is known at ``origin``, newest first; None when fewer than
    the hold-out plus four fit."""
    origins = [o for o in (origin - config.horizon - 7 * i for i in range(config.train_origins)) if o >= MIN_HISTORY_DAYS]
    return origins if len(origins) >= config.holdout_origins + 4 else None


def fit_traffic(history: TrafficHistory, origin: int, config: StaffingConfig) -> TrafficModel:
    """LightGBM on the weekly origins before ``origin`` (the newest ``holdout_origins`` measure the dispersion)."""
    origins = training_origins(origin, config)
    if origins is None:
        raise StaffingTrainingError(f"too little history before day {history.day(origin).date()} to fit the model")
    inputs, tickets, holdout = [], [], []
    for i, o in enumerate(origins):
        s, d, h = target_rows(history, o, config.horizon, observed=True)
        inputs.append(examples(history, o, s, d, h))
        tickets.append(history.tickets[s, d, h])
        holdout.append(np.full(len(s), i < config.holdout_origins))
    return TrafficModel(rounds=config.rounds).fit(pd.concat(inputs, ignore_index=True), np.concatenate(tickets),
                                                  np.concatenate(holdout))


def forecast_from(history: TrafficHistory, origin: int, config: StaffingConfig, model: TrafficModel | None,
                  with_prophet: bool, observed: bool) -> pd.DataFrame:
    """Every model's forecast for the ``horizon`` days after ``origin`` (rows × model)."""
    s, d, h = target_rows(history, origin, config.horizon, observed)
    inputs = examples(history, origin, s, d, h)
    base = pd.DataFrame({"store_id": history.stores[s], "date": history.day(d), "hour": h,
                         "actual": history.tickets[s, d, h] if observed else np.nan})
    parts = []
    for name, column in BASELINES.items():
        parts.append(base.assign(model=name, point=inputs[column].to_numpy(), p10=np.nan, p90=np.nan))
    if model is not None:
        mean = model.predict(inputs)
        q = model.quantiles(mean)
        # the point is the expected count: the integer median of a count distribution sits below
        # the mean and biased the plan low
        parts.append(base.assign(model="lightgbm", point=np.clip(mean, q[:, 0], q[:, 2]), p10=q[:, 0], p90=q[:, 2]))
    if with_prophet:
        from models.prophet_hourly import forecast_stores

        p = forecast_stores(history, origin, s, d, h, weeks=config.prophet_weeks)
        parts.append(base.assign(model="prophet", point=p[:, 0], p10=p[:, 1], p90=p[:, 2]))
    return pd.concat(parts, ignore_index=True)


def run_backtest(history: TrafficHistory, config: StaffingConfig, models: tuple[str, ...] = SERVABLE,
                 on_step: Callable[[str], None] = lambda _: None) -> Backtest:
    started = time.perf_counter()
    parts = []
    for fold, origin in enumerate(fold_origins(history, config)):
        on_step(f"fold {fold} (origin {history.day(origin).date()})")
        model = fit_traffic(history, origin, config) if "lightgbm" in models else None
        with_prophet = config.prophet and "prophet" in models
        parts.append(forecast_from(history, origin, config, model, with_prophet, observed=True).assign(fold=fold))
    return Backtest(pd.concat(parts, ignore_index=True), time.perf_counter() - started)


def score(forecasts: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """WAPE, bias and P10–P90 coverage of ``point`` per group, and the peak hit rates (see :func:`peak_days`).

    A model with no forecast for some rows (a baseline without four weeks of history, Prophet for a
    store too new) is scored on the rows it has; ``rows`` says how many.
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


def choose(scores: pd.DataFrame) -> tuple[str, list[str]]:
    """(the served model, reasons it must not serve): see the module docstring's rule."""
    table = scores.set_index("model")["wape"]
    candidates = table.reindex([m for m in SERVABLE if m in table.index]).dropna()
    if candidates.empty:
        return "", ["no servable model was scored"]
    served = str(candidates.idxmin())
    beaten = [name for name in BASELINES if name in table.index and table[served] >= table[name]]
    return served, [f"{served} does not beat the {name} baseline" for name in beaten]


def train_staffing(settings: Settings, config: StaffingConfig | None = None, policy: StaffingPolicy | None = None,
                   on_step: Callable[[str], None] = lambda _: None, evaluate_only: bool = False) -> StaffingTraining:
    """The whole training run (see the module docstring)."""
    import mlflow


    config, policy = config or StaffingConfig(), policy or StaffingPolicy()
    run = latest_run(settings, "traffic_hour")
    if run is None:
        raise StaffingTrainingError("no traffic_hour features yet: run `vitrine features build` first")
    history = load_history(run.path, extra_days=config.horizon, country=settings.country)
    seconds: dict[str, float] = {}
    on_step("backtest")
    backtest = run_backtest(history, config, on_step=on_step)
    seconds["backtest"] = backtest.seconds
    scores = backtest.scores()
    served, blockers = choose(scores)
    if not served:
        raise StaffingTrainingError("neither LightGBM nor Prophet could forecast any backtest hour")
    configure(settings, MODEL_NAME)
    key = f"{run.run_id}:{config.horizon}x{config.folds}"
    with mlflow.start_run() as active, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        mlflow.log_params({**{f"config.{k}": v for k, v in asdict(config).items()},
                           **{f"policy.{k}": v for k, v in asdict(policy).items()},
                           "feature_run": run.run_id, "as_of": str(run.as_of), "served": served})
        tag_backtest(config_hash(config, served), key)
        _log_backtest(backtest, scores, served, folder)
        if evaluate_only:
            mlflow.set_tag("evaluate_only", "true")
            return StaffingTraining(active.info.run_id, "", False, "evaluation only: nothing registered", served,
                                    scores, pd.DataFrame(), pd.DataFrame(), seconds)
        on_step("final model")
        started = time.perf_counter()
        add_planned_promotions(settings, history)
        forecast = final_forecast(history, config, served)
        context = plan_context(settings, history)
        plan = staffing_plan(forecast, policy, context.items_per_ticket,
                             schedule_for(context.on_duty, pd.DatetimeIndex(forecast["date"].unique())),
                             context.ticket_value)
        peaks = peak_windows(plan)
        seconds["final"] = time.perf_counter() - started
        plan.to_csv(folder / "staffing_plan.csv", index=False)
        peaks.to_csv(folder / "peak_windows.csv", index=False)
        mlflow.log_artifact(str(folder / "staffing_plan.csv"))
        mlflow.log_artifact(str(folder / "peak_windows.csv"))
        from models.staffing_pyfunc import log_staffing

        version = log_staffing(forecast, context, policy, folder / "model", MODEL_NAME)
        candidate = float(scores.set_index("model").loc[served, "wape"])
        decision = gate_against_champion(MODEL_NAME, version, GATE_METRIC, candidate, config_hash(config, served), key,
                                         lambda champion: rescore(champion, history, config), blockers=blockers)
    return StaffingTraining(active.info.run_id, version, decision.promoted, decision.reason, served, scores, plan, peaks,
                            seconds)


def final_forecast(history: TrafficHistory, config: StaffingConfig, served: str) -> pd.DataFrame:
    """The served model's forecast for the ``horizon`` days after the last day (plan columns)."""
    model = fit_traffic(history, history.last, config) if served == "lightgbm" else None
    rows = forecast_from(history, history.last, config, model, served == "prophet", observed=False)
    rows = rows[rows["model"] == served]
    ratio = items_per_ticket(history)
    forecast = pd.DataFrame({"store_id": rows["store_id"].to_numpy(), "date": rows["date"].to_numpy(),
                             "hour": rows["hour"].to_numpy(), "tickets_p10": rows["p10"].to_numpy(),
                             "tickets_p50": rows["point"].to_numpy(), "tickets_p90": rows["p90"].to_numpy(),
                             "basis": "store"})
    return with_chain_prior(forecast).assign(items_p50=lambda f: f["tickets_p50"] * f["store_id"].map(ratio))


def with_chain_prior(forecast: pd.DataFrame) -> pd.DataFrame:
    """Rows the served model could not forecast (Prophet for a store with under two weeks of
    history) take the mean of the other stores at that day and hour, marked ``chain prior``."""
    columns = ["tickets_p10", "tickets_p50", "tickets_p90"]
    missing = forecast["tickets_p50"].isna()
    if not missing.any():
        return forecast
    prior = forecast[~missing].groupby(["date", "hour"])[columns].mean()
    filled = prior.reindex(pd.MultiIndex.from_frame(forecast.loc[missing, ["date", "hour"]])).to_numpy()
    forecast.loc[missing, columns] = filled
    forecast.loc[missing, "basis"] = "chain prior"
    return forecast.dropna(subset=["tickets_p50"]).reset_index(drop=True)


def items_per_ticket(history: TrafficHistory, days: int = 28) -> dict[str, float]:
    """Each store's items per ticket over its last ``days`` days."""
    window = slice(max(0, history.last - days + 1), history.last + 1)
    tickets = np.nansum(history.tickets[:, window], axis=(1, 2))
    items = np.nansum(history.items[:, window], axis=(1, 2))
    return {store: float(i / t) if t else float("nan") for store, i, t in zip(history.stores, items, tickets)}


def plan_context(settings: Settings, history: TrafficHistory, weeks: int = 8) -> PlanContext:
    last = history.day(history.last).date()
    since = (history.day(history.last) - pd.Timedelta(weeks=weeks)).date()
    return PlanContext(items_per_ticket(history), ticket_value(settings, since, last),
                       scheduled_sellers(shifts(settings, since)))


def add_planned_promotions(settings: Settings, history: TrafficHistory) -> None:
    """Fill the promotions known ahead for the days after the last one (store-specific + chain-wide)."""
    first = history.day(history.last + 1).date()
    last = history.day(history.tickets.shape[1] - 1).date()
    for store, starts, ends in promotions_between(settings, first, last):
        a = max(history.day_index(starts), history.last + 1)
        b = min(history.day_index(ends), history.tickets.shape[1] - 1)
        if a > b:
            continue
        if store:
            if store in history.stores:
                history.promotions[np.searchsorted(history.stores, store), a: b + 1] += 1
        else:
            history.promotions[:, a: b + 1] += 1


def config_hash(config: StaffingConfig, served: str) -> str:
    """What makes two candidates the same method."""
    return method_hash({**{k: v for k, v in asdict(config).items() if k not in ("folds", "prophet")}, "served": served})


def rescore(champion, history: TrafficHistory, config: StaffingConfig) -> float:
    """The champion run's method (its logged config and served model) on this backtest: its pooled WAPE."""
    params = {k.removeprefix("config."): v for k, v in champion.data.params.items() if k.startswith("config.")}
    champion_config = replace(config, **{f: type(getattr(config, f))(params[f]) for f in
                                         ("train_origins", "holdout_origins", "rounds", "prophet_weeks") if f in params})
    champion_model = champion.data.params.get("served", "lightgbm")
    rescored = run_backtest(history, champion_config, models=(champion_model,)).scores().set_index("model")
    return float(rescored.loc[champion_model, "wape"])


def _log_backtest(backtest: Backtest, scores: pd.DataFrame, served: str, folder: Path) -> None:
    import mlflow

    from training.plots import traffic_plot

    for row in scores.itertuples(index=False):
        for metric in ("wape", "bias", "coverage", "peak_hit", "peak_days_all_3"):
            value = getattr(row, metric)
            if pd.notna(value):
                mlflow.log_metric(f"{row.model}.{metric}", float(value))
                if row.model == served:
                    mlflow.log_metric(f"served.{metric}", float(value))
    backtest.store_scores().to_csv(folder / "store_scores.csv", index=False)
    backtest.forecasts.to_parquet(folder / "backtest_forecasts.parquet")
    for name in ("store_scores.csv", "backtest_forecasts.parquet"):
        mlflow.log_artifact(str(folder / name), "backtest")
    mlflow.log_figure(traffic_plot(backtest.forecasts, served), "plots/traffic_vs_actual.png")
