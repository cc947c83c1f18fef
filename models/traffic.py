"""Hourly store traffic (tickets per store × day × hour): the LightGBM forecaster and its baselines.

The history is held as dense arrays, store × day × hour, NaN where the store was closed, so that
"the same hour k weeks before" is an index, not a join. A forecast is made *from an origin* (the
last day whose sales are known) for the next days: every feature is read at or before the origin
(``lead`` days ahead, the same weekday and hour ``7 × ceil(lead / 7)`` days back and earlier), so
one model serves every lead time of a 1–2 week horizon (a direct multi-horizon model; recursive
feeding of forecasts into hourly lags would compound noise from counts of 5 or so).

The LightGBM model is global (all stores, Poisson objective: the target is a count); it starts
from a baseline (the store's recent level × its weekday and hour shares, see :func:`baseline`) and
learns the multiplier from the same-hour history, last year's same day and the calendar
(holidays, the ramps to retail dates, promotions). Quantiles come from a negative
binomial around the predicted mean whose over-dispersion is estimated on the most recent
training origins, held out from the fit (Poisson noise alone would be too narrow when the level
moves). The baselines are read off the same arrays: the same hour last week and the mean of the
last four same hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from features.calendar import calendar_frame

HOURS = 24
FEATURES = (
    "lead", "hour", "day_of_week", "month", "is_holiday", "retail_event", "days_to_next_event", "promotions_running",
    "slot_last", "slot_mean_4", "slot_mean_12", "hour_mean_4_weeks", "day_mean_4_weeks", "level_trend", "weekday_share_12_weeks",
    "hour_share_12_weeks", "year_ago_slot", "year_ago_day_ratio",
)
BASELINES = {"last_week": "slot_last", "mean_4_weeks": "slot_mean_4"}


@dataclass
class TrafficHistory:
    """Tickets, items and promotions per store × day × hour; day 0 is ``first``. NaN = closed."""

    stores: np.ndarray  # store ids, sorted
    first: pd.Timestamp
    tickets: np.ndarray  # float, store × day × hour
    items: np.ndarray
    promotions: np.ndarray  # store × day, promotions running (known ahead)
    last: int  # index of the last day with sales
    trading_hours: np.ndarray  # store × hour: from the store's first to its last hour with a sale
    country: str = "BR"  # whose holidays and retail dates the calendar features mark

    @classmethod
    def of(cls, frame: pd.DataFrame, extra_days: int = 0, country: str = "BR") -> TrafficHistory:
        """From rows of (store_id, date, hour, tickets, items[, promotions_running]); a day absent for a
        store is a closed day. ``extra_days`` of room after the last day for the days to forecast."""
        if frame.empty:
            raise ValueError("no hourly traffic: the history is empty")
        dates = pd.to_datetime(frame["date"])
        first, last = dates.min().normalize(), dates.max().normalize()
        stores = np.sort(frame["store_id"].astype(str).unique())
        n_days = (last - first).days + 1 + extra_days
        s = np.searchsorted(stores, frame["store_id"].astype(str).to_numpy())
        d = (dates - first).dt.days.to_numpy()
        h = frame["hour"].to_numpy(int)
        open_day = np.zeros((len(stores), n_days), bool)
        open_day[s, d] = True
        seen = np.zeros((len(stores), HOURS), bool)
        seen[s, h] = True
        hours = np.arange(HOURS)
        trading = (hours >= seen.argmax(axis=1)[:, None]) & (hours <= HOURS - 1 - seen[:, ::-1].argmax(axis=1)[:, None])
        tickets = np.where(open_day[:, :, None] & trading[:, None, :], 0.0, np.nan)  # open, no sale: a 0
        items = tickets.copy()
        tickets[s, d, h] = frame["tickets"].to_numpy(float)
        items[s, d, h] = frame["items"].to_numpy(float)
        promotions = np.zeros((len(stores), n_days))
        if "promotions_running" in frame:
            promotions[s, d] = frame["promotions_running"].to_numpy(float)
        return cls(stores, first, tickets, items, promotions, (last - first).days, trading, country)

    def day_index(self, day: date | pd.Timestamp) -> int:
        return (pd.Timestamp(day).normalize() - self.first).days

    def day(self, index: int | np.ndarray) -> pd.DatetimeIndex:
        return self.first + pd.to_timedelta(np.asarray(index), unit="D")

    def daily(self) -> np.ndarray:
        """Tickets per store × day (NaN = closed)."""
        return np.where(np.isfinite(self.tickets).any(axis=2), np.nansum(self.tickets, axis=2), np.nan)

    def open_days(self, origin: int, days: int) -> np.ndarray:
        """store × the ``days`` after ``origin``: True where the store is expected to open. A day is
        closed if its weekday had no sale in the 8 weeks up to ``origin`` (the weeks the store existed),
        or if a year before the store was closed on that date while open on most days around it
        (25/12, 1/1)."""
        opened = np.isfinite(self.tickets[:, : origin + 1]).any(axis=2)
        first_open = np.where(opened.any(axis=1), opened.argmax(axis=1), origin + 1)
        out = np.zeros((len(self.stores), days), bool)
        for j in range(days):
            target = origin + 1 + j
            slots = np.array([target - 7 * w for w in range(1, 9) if 0 <= target - 7 * w <= origin], int)
            # only the weeks the store existed count: a store opened last Tuesday has not skipped Mondays
            existed = slots[None, :] >= first_open[:, None]
            weekday_open = (opened[:, slots] & existed).any(axis=1) | ~existed.any(axis=1)
            year_ago = ((self.day(target) - pd.DateOffset(years=1)) - self.first).days
            closed_last_year = np.zeros(len(self.stores), bool)
            if 3 <= year_ago <= origin - 3:
                around = opened[:, year_ago - 3: year_ago + 4].sum(axis=1)
                closed_last_year = ~opened[:, year_ago] & (around >= 5)
            out[:, j] = weekday_open & ~closed_last_year
        return out


def _slot(values: np.ndarray, s: np.ndarray, d: np.ndarray, h: np.ndarray) -> np.ndarray:
    out = np.full(len(s), np.nan)
    ok = d >= 0
    out[ok] = values[s[ok], d[ok], h[ok]]
    return out


def _mean_of(values: np.ndarray, s: np.ndarray, days: list[np.ndarray], h: np.ndarray) -> np.ndarray:
    stack = np.vstack([_slot(values, s, d, h) for d in days])
    with np.errstate(invalid="ignore"):
        return np.nanmean(np.where(np.isfinite(stack), stack, np.nan), axis=0) if len(stack) else np.nan


def examples(history: TrafficHistory, origin: int, s: np.ndarray, d: np.ndarray, h: np.ndarray) -> pd.DataFrame:
    """Model inputs for the rows (store index ``s``, day index ``d`` > ``origin``, hour ``h``),
    every history feature read at or before ``origin``."""
    import warnings

    lead = d - origin
    back = 7 * np.ceil(lead / 7).astype(int)
    tickets = history.tickets
    window = slice(max(0, origin - 27), origin + 1)
    long_window = slice(max(0, origin - 83), origin + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: a store with no history yet
        hour_mean = np.nanmean(tickets[:, window], axis=1)  # store × hour
        daily = history.daily()
        day_mean = np.nanmean(daily[:, window], axis=1)
        last_week = np.nanmean(daily[:, max(0, origin - 6): origin + 1], axis=1)
        long_daily = daily[:, long_window]
        weekdays = (history.first.day_of_week + np.arange(long_window.start, origin + 1)) % 7
        weekday_mean = np.stack([np.nanmean(long_daily[:, weekdays == w], axis=1) for w in range(7)], axis=1)
        weekday_share = weekday_mean / np.nanmean(long_daily, axis=1, keepdims=True)
        hour_share = np.nanmean(tickets[:, long_window], axis=1) / np.nanmean(long_daily, axis=1)[:, None]
        year_ago = d - 364
        year_ago_base = _prior_mean(daily, 28)[s, np.maximum(year_ago, 0)]
        year_ago_day = np.where(year_ago >= 0, daily[s, np.maximum(year_ago, 0)], np.nan)
        frame = pd.DataFrame({
            "lead": lead,
            "hour": h,
            "slot_last": _slot(tickets, s, d - back, h),
            "slot_mean_4": _mean_of(tickets, s, [d - back - 7 * j for j in range(4)], h),
            "slot_mean_12": _mean_of(tickets, s, [d - back - 7 * j for j in range(12)], h),
            "hour_mean_4_weeks": hour_mean[s, h],
            "day_mean_4_weeks": day_mean[s],
            "level_trend": (last_week / day_mean)[s],  # > 1: the store is getting busier
            "weekday_share_12_weeks": weekday_share[s, (history.first.day_of_week + d) % 7],
            "hour_share_12_weeks": hour_share[s, h],
            "year_ago_slot": _slot(tickets, s, year_ago, h),
            "year_ago_day_ratio": year_ago_day / year_ago_base,
            "promotions_running": history.promotions[s, d],
        })
    days = history.day(d)
    calendar = _calendar(days.min().date(), days.max().date(), history.country)
    on_day = calendar.reindex(days)
    frame["day_of_week"] = days.day_of_week.to_numpy()
    frame["month"] = days.month.to_numpy()
    frame["is_holiday"] = on_day["is_holiday"].to_numpy()
    frame["retail_event"] = on_day["retail_event"].to_numpy()
    frame["days_to_next_event"] = on_day["days_to_next_event"].to_numpy()
    return frame[list(FEATURES)]


def _prior_mean(values: np.ndarray, days: int) -> np.ndarray:
    """store × day: the mean of the finite values over the ``days`` days before each day."""
    finite = np.isfinite(values)
    sums = np.concatenate([np.zeros((len(values), 1)), np.cumsum(np.where(finite, values, 0), axis=1)], axis=1)
    counts = np.concatenate([np.zeros((len(values), 1)), np.cumsum(finite, axis=1)], axis=1)
    end = np.arange(values.shape[1])
    start = np.maximum(end - days, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums[:, end] - sums[:, start]) / (counts[:, end] - counts[:, start])


def _calendar(first: date, last: date, country: str) -> pd.DataFrame:
    frame = calendar_frame(first, last, 1, country)
    return pd.DataFrame({"is_holiday": (frame["holidays_in_period"] > 0).astype(int).to_numpy(),
                         "retail_event": frame["retail_event_in_period"].to_numpy(),
                         "days_to_next_event": frame["days_to_next_event"].astype(float).to_numpy()},
                        index=pd.to_datetime(frame["date"]))


def target_rows(history: TrafficHistory, origin: int, horizon: int, observed: bool
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(store, day, hour) indexes to forecast after ``origin``: the trading hours of the days the
    store opened (``observed``: a backtest, where the data says) or is expected to open."""
    days = np.arange(origin + 1, origin + 1 + horizon)
    if observed:
        is_open = np.isfinite(history.tickets[:, days]).any(axis=2)
    else:
        is_open = history.open_days(origin, horizon)
    grid = is_open[:, :, None] & history.trading_hours[:, None, :]
    s, j, h = np.nonzero(grid)
    return s, days[j], h


@dataclass
class TrafficModel:
    """LightGBM (Poisson) on :data:`FEATURES` → mean tickets; negative binomial quantiles."""

    rounds: int = 300
    dispersion: float = 0.0  # NB2 alpha: variance = mean + alpha × mean²
    booster: object = None

    def fit(self, inputs: pd.DataFrame, tickets: np.ndarray, holdout: np.ndarray | None = None) -> TrafficModel:
        """Fit on the rows not in ``holdout``; estimate the dispersion on the ``holdout`` rows."""
        import lightgbm as lgb

        holdout = np.zeros(len(inputs), bool) if holdout is None else holdout
        params = {"objective": "poisson", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 100,
                  "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1, "verbose": -1,
                  "num_threads": 0, "seed": 11}
        train = inputs[~holdout]
        data = lgb.Dataset(train[list(FEATURES)], tickets[~holdout], init_score=np.log(baseline(train)))
        self.booster = lgb.train(params, data, num_boost_round=self.rounds)
        if holdout.any():
            self.dispersion = nb_dispersion(tickets[holdout], self.predict(inputs[holdout]))
        return self

    def predict(self, inputs: pd.DataFrame) -> np.ndarray:
        """Mean tickets: the baseline × the multiplier the trees learnt (on the log scale)."""
        raw = self.booster.predict(inputs[list(FEATURES)], raw_score=True)
        return baseline(inputs) * np.exp(raw)

    def quantiles(self, mean: np.ndarray, levels: tuple[float, ...] = (0.1, 0.5, 0.9)) -> np.ndarray:
        return count_quantiles(mean, self.dispersion, levels)


def baseline(inputs: pd.DataFrame) -> np.ndarray:
    """The store's level of the last week spread over weekday and hour: its mean tickets per day
    over the last 7 days × weekday share × hour share (12 weeks); else the hour's 4-week mean; never
    below 0.05. The trees learn the multiplier on top of it, so a store busier than anything in the
    training weeks (a growing store, the run-up to Christmas) is not capped at the busiest level
    the trees have seen."""
    last_week = inputs["day_mean_4_weeks"] * inputs["level_trend"]
    level = (last_week * inputs["weekday_share_12_weeks"] * inputs["hour_share_12_weeks"]).to_numpy()
    level = np.where(np.isfinite(level), level, inputs["hour_mean_4_weeks"].to_numpy())
    return np.maximum(np.nan_to_num(level, nan=1.0), 0.05)


def nb_dispersion(actual: np.ndarray, mean: np.ndarray) -> float:
    """Method-of-moments NB2 alpha: the variance left over Poisson's, per squared mean (≥ 0)."""
    mean = np.maximum(mean, 1e-6)
    excess = ((actual - mean) ** 2 - mean).sum()
    return float(max(excess / (mean**2).sum(), 0.0))


def count_quantiles(mean: np.ndarray, dispersion: float, levels: tuple[float, ...] = (0.1, 0.5, 0.9)) -> np.ndarray:
    """Quantiles (rows × levels) of counts with ``mean`` and NB2 ``dispersion`` (0: Poisson)."""
    from scipy import stats

    mean = np.maximum(np.asarray(mean, float), 1e-9)
    q = np.asarray(levels)[None, :]
    if dispersion <= 1e-9:
        return stats.poisson.ppf(q, mean[:, None])
    size = 1 / dispersion
    return stats.nbinom.ppf(q, size, (size / (size + mean))[:, None])
