"""One LightGBM across every series of a panel, direct multi-horizon, on scale-free targets.

**Direct.** A training row is (series, origin t, step h): what was known at t, the calendar of the
period t + h, and h itself; the target is the value at t + h. One model serves every step, so no
forecast is fed back as if observed.

**Scale-free.** Every value is divided by the series' level at the origin (its mean over the last
4 weeks, or 8 weeks for weekly data), so a SKU selling 0.2 a day and a store selling 300 share the
trees. Rows are weighted by level² / the series' naive error², which makes the squared loss the
RMSSE the backtest scores: the model is trained on what it is judged on.

**The plan.** When the panel carries known-ahead covariates (price, promotion depth), each row
has them on the predicted period and relative to the recent periods, so a planned promotion
lifts its own days.

**Seasonal lags, not recent lags.** For step h, the lags are the same period of the last seasons
that were already known at the origin (the same weekday ⌈h/7⌉ weeks back and three before it; for
hours also the same hour of the latest known day), so every step uses the freshest data it can.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.calendar import calendar_frame
from models.panel import LEVEL_WINDOW, YEAR, Panel, TooLittleHistory, naive_mse, nanmean

# Strongly regularised (few leaves, 500 rows per leaf, 120 rounds): retail series are noisy, and on
# Online Retail and the generator alike this beat the default-sized trees out of sample.
PARAMS = {"objective": "regression", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 500,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
          "max_bin": 127, "verbose": -1, "num_threads": 0, "seed": 7}
# Per frequency: periods between training origins, and how far back they reach (plus the horizon,
# so that the same weeks last year, the forecast window included, are training targets).
ORIGIN_STRIDE = {"D": 7, "W": 1, "h": 24}
ORIGIN_SPAN = {"D": 364, "W": 104, "h": 16 * 7 * 24}
MAX_ROWS = 500_000


def _gather(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[:, index] with NaN where the index falls outside the data."""
    out = values[:, np.clip(index, 0, values.shape[1] - 1)]
    out[:, (index < 0) | (index >= values.shape[1])] = np.nan
    return out


def level(values: np.ndarray, t: int, window: int) -> np.ndarray:
    """Each series' mean per period over the ``window`` periods up to ``t``."""
    return nanmean(values[:, max(0, t - window + 1): t + 1], axis=1)


def scale_at(values: np.ndarray, t: int, freq: str) -> np.ndarray:
    """The divisor of a series' values at origin ``t``: its recent level, never below one unit per window."""
    window = LEVEL_WINDOW[freq]
    recent, longer = level(values, t, window), level(values, t, 4 * window)
    return np.maximum(np.nan_to_num(np.fmax(recent, longer / 4)), 1.0 / window)


def calendar(periods: pd.DatetimeIndex, panel: Panel) -> dict[str, np.ndarray]:
    """Calendar features of the predicted periods, from the project's calendar of the panel's country:
    a public holiday in the period (a week: any of its 7 days), which retail date comes next and in
    how many days (at most 30), and the date parts."""
    starts = periods.normalize()
    days = calendar_frame(starts.min().date(), (starts.max() + pd.Timedelta(days=7)).date(), 1, panel.country)
    days = days.set_index(pd.to_datetime(days["date"]))
    holiday = (days["holidays_in_period"] > 0).astype(float)
    if panel.freq == "W":
        holiday = holiday.rolling(7, min_periods=1).max().shift(-6)  # any holiday in the 7 days from each day
    to_event = days["days_to_next_event"].astype(float).clip(upper=30)
    # which retail date is next, as a stable number per name: Mother's Day and Christmas lift differently
    event = days["next_event"].map(lambda name: float(zlib.crc32(str(name).encode()) % 997) if name else np.nan)
    out = {"month": periods.month.to_numpy(), "holiday": holiday.reindex(starts).to_numpy(),
           "days_to_event": to_event.reindex(starts).to_numpy(), "next_event": event.reindex(starts).to_numpy()}
    if panel.freq == "W":
        out["week_of_year"] = periods.isocalendar().week.to_numpy(int)
    else:
        out["day_of_week"] = periods.day_of_week.to_numpy()
        out["day_of_month"] = periods.day.to_numpy()
    if panel.freq == "h":
        out["hour"] = periods.hour.to_numpy()
    if panel.freq == "D":
        out["holiday_next_day"] = holiday.reindex(starts + pd.Timedelta(days=1)).to_numpy()
    return out


def rows_at(panel: Panel, t: int, horizon: int, periods: pd.DatetimeIndex) -> tuple[pd.DataFrame, np.ndarray]:
    """Features of every (series, step) from origin ``t`` (series-major), and the series' scale."""
    values, freq = panel.values, panel.freq
    n, steps = len(values), np.arange(1, horizon + 1)
    target = t + steps
    scale = scale_at(values, t, freq)
    columns: dict[str, np.ndarray] = {"step": np.broadcast_to(steps, (n, horizon))}
    for window in sorted({LEVEL_WINDOW[freq] // 4, LEVEL_WINDOW[freq], 4 * LEVEL_WINDOW[freq]}):
        columns[f"level_{window}"] = np.broadcast_to((level(values, t, window) / scale)[:, None], (n, horizon))
    recent = values[:, max(0, t - LEVEL_WINDOW[freq] + 1): t + 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        columns["zero_share"] = np.broadcast_to(np.nanmean(recent == 0, axis=1)[:, None], (n, horizon))
    columns["last"] = np.broadcast_to((values[:, t] / scale)[:, None], (n, horizon))
    alive = np.isfinite(values[:, : t + 1])
    columns["age"] = np.broadcast_to(np.minimum(alive.sum(axis=1), YEAR[freq])[:, None], (n, horizon))
    for m in panel.seasons:
        if m == 1:
            continue
        back = m * np.ceil(steps / m).astype(int)
        lags = [_gather(values, target - back - m * k) / scale[:, None] for k in range(4)]
        for k, lag in enumerate(lags):
            columns[f"lag_{m}_{k}"] = lag
        columns[f"lag_{m}_mean"] = nanmean(np.stack(lags), axis=0)
    year = YEAR[freq]
    if t + 1 > year:
        columns["year_ago"] = _gather(values, target - year) / scale[:, None]
        then = level(values, t - year, LEVEL_WINDOW[freq])
        columns["year_growth"] = np.broadcast_to((level(values, t, LEVEL_WINDOW[freq]) / np.where(then > 0, then, np.nan))[:, None],
                                                 (n, horizon))
    for name, plan in (panel.covariates or {}).items():
        # the plan on the predicted period, and how it differs from the recent periods the level
        # was measured on (a promotion lifts sales above a level measured without one)
        ahead = _gather(plan, target)
        recent_plan = nanmean(plan[:, max(0, t - LEVEL_WINDOW[freq] + 1): t + 1], axis=1)
        columns[name] = ahead
        columns[f"{name}_vs_recent"] = ahead - recent_plan[:, None]
    for name, feature in calendar(periods, panel).items():
        columns[name] = np.broadcast_to(np.asarray(feature, float)[None, :], (n, horizon))
    frame = pd.DataFrame({name: np.asarray(column, float).ravel() for name, column in columns.items()})
    return frame, scale


@dataclass
class GlobalGBM:
    """The global LightGBM member (see the module docstring)."""

    horizon: int = 28  # steps trained on: the horizon the forecasts are for
    rounds: int = 120
    params: dict = field(default_factory=lambda: dict(PARAMS))
    panel: Panel | None = None
    booster: object = None
    feature_names: list[str] = field(default_factory=list)

    def fit(self, panel: Panel) -> GlobalGBM:
        import lightgbm as lgb

        self.panel = panel
        values, freq, last = panel.values, panel.freq, panel.values.shape[1] - 1
        horizon = self.horizon
        stride, span = ORIGIN_STRIDE[freq], ORIGIN_SPAN[freq] + horizon
        origins = [t for t in range(last - 1, max(last - span, 0) - 1, -stride) if t >= LEVEL_WINDOW[freq] // 4]
        rng = np.random.default_rng(7)
        per_origin = len(values) * horizon
        keep_series = np.arange(len(values))
        if per_origin * max(len(origins), 1) > MAX_ROWS:
            keep = max(50, MAX_ROWS // max(len(origins) * horizon, 1))
            keep_series = np.sort(rng.choice(len(values), size=min(keep, len(values)), replace=False))
        frames, targets, weights = [], [], []
        sub = panel.subset(keep_series)
        for t in origins:
            periods = pd.DatetimeIndex([panel.index[t] + panel.step * (k + 1) for k in range(horizon)])
            frame, scale = rows_at(sub, t, horizon, periods)
            target_index = t + np.arange(1, horizon + 1)
            inside = target_index <= last
            truth = np.full((len(keep_series), horizon), np.nan)
            truth[:, inside] = sub.values[:, target_index[inside]]
            scored = np.zeros_like(truth, bool)
            scored[:, inside] = sub.observed[:, target_index[inside]]
            error = naive_mse(sub.values, t)
            weight = np.broadcast_to((scale**2 / np.where(error > 0, error, np.nan))[:, None], truth.shape)
            usable = (np.isfinite(truth) & scored & np.isfinite(weight) & np.isfinite(sub.values[:, t])[:, None]).ravel()
            frames.append(frame[usable])
            targets.append((truth / scale[:, None]).ravel()[usable])
            weights.append(weight.ravel()[usable])
        if not frames or sum(len(f) for f in frames) < 50:
            raise TooLittleHistory("too little history for the global model: it needs a few weeks per series")
        inputs = pd.concat(frames, ignore_index=True)
        weight = np.concatenate(weights)
        weight = np.clip(weight, 0, np.quantile(weight, 0.99))
        self.feature_names = list(inputs.columns)
        data = lgb.Dataset(inputs, np.concatenate(targets), weight=weight, free_raw_data=True)
        self.booster = lgb.train(self.params, data, num_boost_round=self.rounds)
        return self

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        return self.predict_for(self.panel, horizon)

    def predict_for(self, panel: Panel, horizon: int) -> dict[str, np.ndarray]:
        """Forecast ``panel``'s series with the model learnt in :meth:`fit` (on these series or
        others of the same data: a global model need not see a series to forecast it)."""
        t = panel.values.shape[1] - 1
        frame, scale = rows_at(panel, t, horizon, panel.future(horizon))
        for name in self.feature_names:  # a feature the fit had but this origin lacks (year_ago)
            if name not in frame:
                frame[name] = np.nan
        raw = self.booster.predict(frame[self.feature_names]).reshape(len(panel.ids), horizon)
        return {"lightgbm": np.clip(raw, 0, None) * scale[:, None]}

