"""Rolling-origin backtest of the demand forecaster against the baselines and Prophet, per level.

Folds: ``folds + 1`` non-overlapping windows of ``horizon`` days ending on the last day of data.
The oldest window only calibrates the next one's quantiles (split conformal, see
models/forecaster.py); each later fold is scored with the spread learnt on the fold before it, so
no fold sees its own errors. Every fold retrains on examples whose predicted day is at most the
fold's origin.

Levels: SKU × store, SKU (chain-wide), category × store, store, chain. LightGBM forecasts SKU × store and sums up
(bottom-up), so its forecasts agree across levels by construction; the baselines and Prophet are
fitted on each level's own aggregated history. The level's winner is the lowest mean RMSSE; a
model that does not beat both baselines on a level is not used there.

Censoring: SKU × store days that ended out of stock are not scored (their sales understate
demand); aggregates are scored as sold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models import prophet_levels
from models.baselines import moving_average, seasonal_naive
from models.forecaster import KEYS, Columns, DemandModel, Spread, examples
from models.metrics import naive_scales, scaled_errors

LEVELS: dict[str, list[str]] = {
    "sku_store": ["store_id", "sku"],
    "sku": ["sku"],  # chain-wide, what purchasing buys
    "category_store": ["store_id", "category"],
    "store": ["store_id"],
    "chain": ["chain"],
}
BASELINES = ("seasonal_naive", "moving_average")
MIN_HISTORY_DAYS = 56  # before the first fold: enough for the 28-day windows to mean something


@dataclass(frozen=True)
class BacktestConfig:
    horizon: int = 28  # days forecast from each origin
    folds: int = 3  # scored folds (one more, older, calibrates the first)
    train_days: int = 364  # training origins reach this far back from a fold's origin
    origin_step: int = 7  # days between training origins
    max_train_rows: int = 1_000_000  # examples sampled per fit (speed; the rest adds little)
    rounds: int = 250  # boosting rounds
    prophet_levels: tuple[str, ...] = ("category_store", "store", "chain")
    seed: int = 7
    country: str = "BR"  # whose holidays and retail dates Prophet sees (VITRINE_COUNTRY)


@dataclass
class BacktestResult:
    scores: pd.DataFrame  # level, model, fold, origin, rmsse, mase, wape, bias, coverage, quantile_loss, series
    spread: Spread  # calibrated on the last fold: what the final model serves with
    forecasts: pd.DataFrame  # the last fold, every level and model: level, model, series, date, actual, mean, p10, p90
    importance: pd.Series
    prophet_fits: int = 0
    prophet_seconds: float = 0.0

    def summary(self) -> pd.DataFrame:
        """Mean over the scored folds, one row per level and model."""
        scored = self.scores[self.scores["fold"] > 0]
        return scored.groupby(["level", "model"], as_index=False)[
            ["rmsse", "mase", "wape", "bias", "coverage", "quantile_loss"]].mean()

    def winners(self) -> dict[str, str]:
        """Per level, the model with the lowest mean RMSSE that beats both baselines (else the best baseline)."""
        out = {}
        for level, rows in self.summary().groupby("level"):
            rmsse = rows.set_index("model")["rmsse"]
            bar = rmsse[list(BASELINES)].min()
            eligible = rmsse[(rmsse < bar) | rmsse.index.isin(BASELINES)]
            out[level] = str(eligible.idxmin())
        return out


def load_panel(path: Path, columns: Columns, since: pd.Timestamp | None = None) -> pd.DataFrame:
    """The demand feature table (one Parquet run) as pandas, date-sorted, numbers as float32."""
    import pyarrow.dataset as ds

    wanted = list(dict.fromkeys([*KEYS, "date", "units", "stockout_days", "category", *columns.history,
                                 *columns.ahead]))
    dataset = ds.dataset(str(path), format="parquet")
    table = dataset.to_table(columns=wanted, filter=None if since is None else ds.field("date") >= since.date())
    frame = table.to_pandas()
    frame["date"] = pd.to_datetime(frame["date"])
    for column in frame.columns:
        if column in columns.categorical or column in KEYS or column == "category":
            frame[column] = frame[column].astype("category")
        elif frame[column].dtype.kind == "f":
            frame[column] = frame[column].astype("float32")
    return frame.sort_values("date", kind="stable").reset_index(drop=True)


class ByDate:
    """Fast day-range slices of a date-sorted panel."""

    def __init__(self, panel: pd.DataFrame) -> None:
        self.panel = panel
        self.dates = panel["date"].to_numpy()

    def between(self, after: pd.Timestamp, until: pd.Timestamp) -> pd.DataFrame:
        """Rows with ``after < date <= until``."""
        lo = np.searchsorted(self.dates, np.datetime64(after), side="right")
        hi = np.searchsorted(self.dates, np.datetime64(until), side="right")
        return self.panel.iloc[lo:hi]

    def on(self, day: pd.Timestamp) -> pd.DataFrame:
        return self.between(day - pd.Timedelta(days=1), day)


def training_examples(by_date: ByDate, columns: Columns, cutoff: pd.Timestamp, config: BacktestConfig,
                      rng: np.random.Generator) -> pd.DataFrame:
    """Examples from origins every ``origin_step`` days before ``cutoff``, predicted days ≤ ``cutoff``,
    sampled uniformly down to ``max_train_rows``."""
    origins = [cutoff - pd.Timedelta(days=k * config.origin_step)
               for k in range(1, config.train_days // config.origin_step + 1)]
    windows = [(o, min(o + pd.Timedelta(days=config.horizon), cutoff)) for o in origins]
    sizes = [len(by_date.between(o, end)) for o, end in windows]
    share = min(1.0, config.max_train_rows / max(1, sum(sizes)))
    parts = []
    for origin, end in windows:
        origin_rows = by_date.on(origin)
        if origin_rows.empty:
            continue
        targets = by_date.between(origin, end)
        if share < 1:
            targets = targets[rng.random(len(targets)) < share]
        parts.append(examples(origin_rows, targets, columns))
    if not parts:
        raise ValueError(f"no history before {cutoff.date()} to learn from: the data is too short for this backtest")
    return pd.concat(parts, ignore_index=True)


def forecast_cells(model: DemandModel, by_date: ByDate, origin: pd.Timestamp, horizon: int) -> pd.DataFrame:
    """Mean forecast for every series with a row on ``origin``, over the ``horizon`` days after it,
    with the actual units (known in a backtest)."""
    cells = examples(by_date.on(origin), by_date.between(origin, origin + pd.Timedelta(days=horizon)), model.columns)
    cells["mean"] = model.predict(cells)
    return cells.rename(columns={"units": "actual"})


def aggregate(cells: pd.DataFrame, level: str, spread: Spread | None = None) -> pd.DataFrame:
    """Cell forecasts summed to ``level`` (means and variances add), with P10/P90 when calibrated."""
    keys = LEVELS[level]
    frame = cells.assign(chain="chain", var=(spread or Spread()).variance(cells["mean"].to_numpy(float)))
    if level == "sku_store":
        frame = frame[frame["stockout_days"].fillna(0) == 0]
    out = frame.groupby([*keys, "date"], observed=True, as_index=False)[["actual", "mean", "var"]].sum()
    if spread is not None and level in spread.z:
        out["p10"], out["p50"], out["p90"] = spread.quantiles(level, out["mean"].to_numpy(), out["var"].to_numpy())
    return out


def level_histories(units: pd.DataFrame, until: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Each level's daily units up to ``until`` (``keys``, ``date``, ``units``)."""
    rows = units.loc[units["date"] <= until, ["store_id", "sku", "category", "date", "units"]]
    out = {"sku_store": rows[["store_id", "sku", "date", "units"]]}
    for level in ("sku", "category_store", "store"):
        out[level] = rows.groupby([*LEVELS[level], "date"], observed=True, as_index=False)["units"].sum()
    out["chain"] = out["store"].groupby("date", as_index=False)["units"].sum().assign(chain="chain")
    return out


def score(forecasts: pd.DataFrame, scales: pd.DataFrame, keys: list[str]) -> dict[str, float]:
    """One model at one level over one fold."""
    scaled = scaled_errors(forecasts, scales, keys)
    actual, mean = forecasts["actual"].to_numpy(float), forecasts["mean"].to_numpy(float)
    volume = np.abs(actual).sum()
    row = {
        "rmsse": float(scaled["rmsse"].mean()), "mase": float(scaled["mase"].mean()),
        "wape": float(np.abs(actual - mean).sum() / volume) if volume else np.nan,
        "bias": float((mean - actual).sum() / volume) if volume else np.nan,
        "coverage": np.nan, "quantile_loss": np.nan, "series": int(scaled["rmsse"].notna().sum()),
    }
    if "p10" in forecasts and forecasts["p10"].notna().all():
        p10, p90 = forecasts["p10"].to_numpy(float), forecasts["p90"].to_numpy(float)
        row["coverage"] = float(np.mean((actual >= p10) & (actual <= p90)))
        losses = [np.maximum(q * (actual - f), (q - 1) * (actual - f)).mean()
                  for q, f in ((0.1, p10), (0.5, forecasts.get("p50", forecasts["mean"]).to_numpy(float)), (0.9, p90))]
        row["quantile_loss"] = float(np.mean(losses) / (volume / len(actual))) if volume else np.nan
    return row


def run_backtest(panel: pd.DataFrame, units: pd.DataFrame, columns: Columns, config: BacktestConfig,
                 on_step=lambda _: None) -> BacktestResult:
    """Score LightGBM, the baselines and Prophet on ``config.folds`` rolling origins.

    ``panel``: the demand feature rows (see :func:`load_panel`); ``units``: the units history of every
    series (``store_id``, ``sku``, ``category``, ``date``, ``units``), longer than the panel if wanted.
    """
    rng = np.random.default_rng(config.seed)
    by_date = ByDate(panel)
    last = panel["date"].max()
    origins = fold_origins(last, config)
    if (origins[0] - panel["date"].min()).days < MIN_HISTORY_DAYS:
        needed = MIN_HISTORY_DAYS + (config.folds + 1) * config.horizon
        raise ValueError(f"the backtest needs about {needed} days of features ({config.folds} folds of "
                         f"{config.horizon} days, one calibration fold, {MIN_HISTORY_DAYS} days to learn from); "
                         f"the feature table has {(last - panel['date'].min()).days + 1}")
    scores, previous_cells, spread, model = [], None, Spread(), None
    prophet_fits, prophet_seconds, last_forecasts = 0, 0.0, []
    for fold, origin in enumerate(origins):
        on_step(f"fold {fold} (origin {origin.date()})")
        model = DemandModel(columns).fit(training_examples(by_date, columns, origin, config, rng), rounds=config.rounds)
        cells = forecast_cells(model, by_date, origin, config.horizon)
        if previous_cells is not None:
            spread = calibrated_spread(previous_cells)
        forecasts_by_level = {"lightgbm": {level: aggregate(cells, level, spread if fold else None)
                                           for level in LEVELS}}
        histories = level_histories(units, origin)
        scales = {level: naive_scales(history, LEVELS[level]) for level, history in histories.items()}
        for name, baseline in (("seasonal_naive", seasonal_naive), ("moving_average", moving_average)):
            forecasts_by_level[name] = {}
            for level, keys in LEVELS.items():
                history = histories[level]
                recent = history[history["date"] > origin - pd.Timedelta(days=35)]
                predicted = baseline(recent, keys, config.horizon).rename(columns={"p50": "mean"})
                actual = forecasts_by_level["lightgbm"][level][[*keys, "date", "actual"]]
                forecasts_by_level[name][level] = actual.merge(predicted, on=[*keys, "date"], how="inner")
        if fold > 0:  # Prophet only where it is scored
            started = time.perf_counter()
            forecasts_by_level["prophet"] = _prophet(histories, config, forecasts_by_level["lightgbm"])
            prophet_seconds += time.perf_counter() - started
            prophet_fits += sum(len(f.groupby(LEVELS[lv], observed=True)) for lv, f in
                                forecasts_by_level["prophet"].items())
        for name, by_level in forecasts_by_level.items():
            for level, forecast in by_level.items():
                row = score(forecast, scales[level], LEVELS[level])
                scores.append({"level": level, "model": name, "fold": fold, "origin": origin.date(), **row})
                if fold == len(origins) - 1:
                    keys = LEVELS[level]
                    last_forecasts.append(forecast.assign(
                        level=level, model=name,
                        series=forecast[keys].astype(str).agg(" / ".join, axis=1))[
                        ["level", "model", "series", "date", "actual", "mean",
                         *[c for c in ("p10", "p90") if c in forecast]]])
        previous_cells = cells
    final_spread = calibrated_spread(previous_cells)
    return BacktestResult(pd.DataFrame(scores), final_spread, pd.concat(last_forecasts, ignore_index=True),
                          model.importance(), prophet_fits, prophet_seconds)


def fold_origins(last: pd.Timestamp, config: BacktestConfig) -> list[pd.Timestamp]:
    """The calibration fold's origin, then the scored folds' (oldest first); the last ends on ``last``."""
    return [last - pd.Timedelta(days=config.horizon * k) for k in range(config.folds + 1, 0, -1)]


def calibrated_spread(cells: pd.DataFrame) -> Spread:
    """A spread fitted on one fold's held-out cell forecasts: dispersion, then z-quantiles per level."""
    usable = cells[cells["stockout_days"].fillna(0) == 0]
    spread = Spread(dispersion=Spread.fit_dispersion(usable["actual"].to_numpy(float), usable["mean"].to_numpy(float)))
    for level in LEVELS:
        rows = aggregate(cells, level, spread)
        spread.calibrate(level, rows["actual"].to_numpy(float), rows["mean"].to_numpy(float), rows["var"].to_numpy(float))
    return spread


def _prophet(histories: dict[str, pd.DataFrame], config: BacktestConfig,
             lightgbm: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {}
    for level in config.prophet_levels:
        keys = LEVELS[level]
        history = histories[level]
        series = {key if isinstance(key, tuple) else (key,): rows for key, rows in
                  history.groupby(keys, observed=True)}
        predicted = prophet_levels.forecast_many(series, config.horizon, country=config.country)
        frames = [f.assign(**dict(zip(keys, key))) for key, f in predicted.items()]
        forecast = pd.concat(frames, ignore_index=True)
        actual = lightgbm[level][[*keys, "date", "actual"]]
        as_text = {k: f"_{k}" for k in keys}  # merge on text, keep the actual frame's key dtypes
        forecast = forecast.rename(columns=as_text).astype({f"_{k}": str for k in keys})
        joined = actual.assign(**{f"_{k}": actual[k].astype(str) for k in keys}).merge(
            forecast, on=[*as_text.values(), "date"], how="inner")
        out[level] = joined.drop(columns=list(as_text.values()))
    return out
