"""The forecasting pool: every demand and traffic model behind one small contract.

A member is fitted on a :class:`~models.panel.Panel` (the history as it stood at an origin) and
predicts the next ``horizon`` periods of every series, as ``{name: array series × horizon}`` of
expected values. A member may give several named forecasts from one fit (statsforecast fits its
models together). The backtest (``models.ensemble``) takes a list of members, never named special
cases, so adding a method is adding an object here.

The pool holds the strong simple methods, because on retail data they are hard to beat: the
seasonal naive, window averages, the same-period averages of the last few seasons, the level ×
seasonal-profile method (for days also with the country's holidays and retail dates read off the
history and a damped trend), for hours each weekday's level × one hour-of-day shape, and from
statsforecast AutoETS, Theta, ADIDA, CrostonSBA and TSB (intermittent SKUs) and MSTL (hourly
traffic with daily and weekly seasons). The global LightGBM
(``models.global_gbm``) learns across series what the simple methods cannot: the calendar,
holidays, year-ago patterns, growth.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from models.panel import LEVEL_WINDOW, YEAR, Panel, nanmean
from warehouse.calendar import special_days


class Forecaster(Protocol):
    """Fit on a panel; predict expected values for each series and each of the next periods."""

    def fit(self, panel: Panel) -> Forecaster: ...

    def predict(self, horizon: int) -> dict[str, np.ndarray]: ...


@dataclass(kw_only=True)
class History:
    """A member whose fit is keeping the history: ``predict`` reads it (the simple methods, and
    statsforecast, which fits as it forecasts)."""

    panel: Panel | None = None

    def fit(self, panel: Panel) -> History:
        self.panel = panel
        return self


@dataclass
class SeasonalNaive(History):
    """Each future period repeats the same period of the last season (last week, same hour last week)."""


    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        m = self.panel.season
        last = np.nan_to_num(self.panel.values[:, -m:])
        return {"seasonal_naive": last[:, np.arange(horizon) % m]}


@dataclass
class WindowAverage(History):
    """The mean of the last ``window`` periods, flat."""

    window: int

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        mean = np.nan_to_num(nanmean(self.panel.values[:, -self.window:], axis=1))
        return {f"window_average_{self.window}": np.repeat(mean[:, None], horizon, axis=1)}


@dataclass
class SeasonalWindowAverage(History):
    """Each future period is the mean of the same period in the last ``seasons`` seasons
    (the mean of the last four Mondays; of the last four Saturdays at 11:00)."""

    seasons: int

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        values, m = self.panel.values, self.panel.season
        n_seasons = min(self.seasons, values.shape[1] // m)
        last = values[:, values.shape[1] - n_seasons * m:].reshape(len(values), n_seasons, m)
        profile = np.nan_to_num(nanmean(last, axis=1))
        return {f"seasonal_average_{self.seasons}": profile[:, np.arange(horizon) % m]}


def level_and_profile(values: np.ndarray, m: int, freq: str, profile_seasons: int,
                      pooled: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(each series' mean per period over the last level window, its share of each position in the
    season over the last ``profile_seasons`` seasons shrunk to the pooled one, the pooled one: the
    panel's own, or ``pooled`` when given). Periods of net returns count as no sales."""
    window = min(LEVEL_WINDOW[freq], values.shape[1])
    level = np.nan_to_num(nanmean(values[:, -window:], axis=1))
    n_seasons = max(1, min(profile_seasons, values.shape[1] // m))
    last = values[:, values.shape[1] - n_seasons * m:].reshape(len(values), n_seasons, m)
    totals = np.nansum(np.clip(last, 0, None), axis=1)  # series × position; a day of net returns is no demand
    if pooled is None:
        pooled = totals.sum(axis=0) / max(totals.sum(), 1e-9) * m
    volume = totals.sum(axis=1, keepdims=True)
    own = totals / np.maximum(volume, 1e-9) * m
    weight = volume / (volume + 20.0)  # 20 units before a series' own profile counts half
    return level, weight * own + (1 - weight) * pooled[None, :], pooled


@dataclass
class LevelTimesProfile(History):
    """The series' recent level × its seasonal profile: mean per period of the last ``window``
    periods, times the share of each position in the season (weekday; hour of the week) over the
    last ``profile_seasons`` seasons, shrunk towards the panel's pooled profile for sparse series.
    Periods with net returns (negative units) count as no sales in the profile."""

    profile_seasons: int = 12

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        m = self.panel.season
        level, profile, _ = level_and_profile(self.panel.values, m, self.panel.freq, self.profile_seasons)
        return {"level_x_profile": level[:, None] * profile[:, np.arange(horizon) % m]}


@dataclass
class CalendarEffects:
    """What the country's public holidays and retail dates do to a daily panel's total, read on
    its history.

    A special day's effect is the total that day over the mean of the same weekday one and two
    weeks either side (plain open days, at least two): 0 when every series was absent that day
    (closed). A day ahead takes the effect its key (a holiday; a retail date and the days before
    it) had last time; a holiday not seen yet the median effect of the holidays seen (at least
    three, a closed one as 0: a retailer that closes on holidays is forecast closed, one that
    closes only at Christmas open), a retail date not seen yet none. Learnt on one panel,
    applied to any panel of the same days (a store's, on a Spark executor)."""

    country: str | None
    by_day: dict[pd.Timestamp, float]
    by_key: dict[str, float]
    usual: float  # the median effect of a public holiday

    @classmethod
    def read(cls, panel: Panel) -> CalendarEffects:
        if panel.freq != "D" or panel.country is None:
            return cls(None, {}, {}, 1.0)
        keys = special_days(panel.index[0].date(), panel.index[-1].date(), panel.country)
        special = np.array([day.date() in keys for day in panel.index])
        total = np.nansum(np.clip(panel.values, 0, None), axis=0)
        plain = panel.open_periods & ~special
        by_day, by_key, holidays = {}, {}, []
        for t in np.flatnonzero(special):
            around = [t + k for k in (-14, -7, 7, 14) if 0 <= t + k < len(total) and plain[t + k]]
            base = total[around].mean() if len(around) >= 2 else 0.0
            if base > 0:
                effect = float(np.clip(total[t] / base, 0.2, 5.0)) if panel.open_periods[t] else 0.0
                key, holiday = keys[panel.index[t].date()]
                by_day[panel.index[t]] = by_key[key] = effect
                if holiday:
                    holidays.append(effect)
        return cls(panel.country, by_day, by_key, float(np.median(holidays)) if len(holidays) >= 3 else 1.0)

    def adjust(self, panel: Panel) -> np.ndarray:
        """``panel``'s values with each special day read as a plain one (divided by its effect; a
        closed one unknown, NaN), so that none moves a level or bends a profile."""
        return self.as_plain(panel.values, panel.index)

    def as_plain(self, values: np.ndarray, days: pd.DatetimeIndex) -> np.ndarray:
        """``values`` (series × ``days``) with each special day read as a plain one (see :meth:`adjust`)."""
        values = values.copy()
        for day, effect in self.by_day.items():
            t = days.get_indexer([day])[0]
            if t >= 0:
                values[:, t] = values[:, t] / effect if effect else np.nan
        return values

    def ahead(self, panel: Panel, horizon: int) -> np.ndarray:
        """The effect on each of the ``horizon`` days after ``panel``'s last (1 on a plain day)."""
        if self.country is None:
            return np.ones(horizon)
        days = panel.future(horizon)
        keys = special_days(days[0].date(), days[-1].date(), self.country)
        return np.array([self.by_key.get(keys[d.date()][0], self.usual if keys[d.date()][1] else 1.0)
                         if d.date() in keys else 1.0 for d in days])


# Units over the last two level windows at which a series' own growth weighs as much as the panel's.
GROWTH_UNITS = 1000.0


def windows_of_growth(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(each series' units in the last ``window`` periods, in the ``window`` before, and whether
    its growth can be read: known over both, with sales in each)."""
    recent = np.nansum(np.clip(values[:, -window:], 0, None), axis=1)
    before = np.nansum(np.clip(values[:, -2 * window:-window], 0, None), axis=1)
    return recent, before, np.isfinite(values[:, -2 * window]) & (recent > 0) & (before > 0)


def log_growth(recent: np.ndarray | float, before: np.ndarray | float) -> np.ndarray:
    """log(recent / before), the ratio held within [½, 2]: a launch or a delisting is no trend."""
    return np.log(np.clip(np.divide(recent, np.where(np.asarray(before) > 0, before, 1.0)), 0.5, 2.0))


@dataclass
class LevelTimesProfileTrend(History):
    """Daily: level × profile on a history whose holidays and retail dates are read as plain days
    (:class:`CalendarEffects`), times each special day's effect ahead and the series' damped growth.

    The growth is the last level window's units over the one before, per day, from the window's
    centre to the origin and then damped by ``damping`` each day ahead (Holt's damped trend), so a
    season on the rise is not forecast at last month's level. A series' own growth is shrunk to the
    panel's by its volume (``GROWTH_UNITS`` units in both windows count half): a few units say
    nothing about a trend, while a store's or the chain's total reads its own. The calendar's effects,
    the panel's growth and its profile are learnt in ``fit`` and applied by ``predict_for`` to any
    series of the same data (a store's, on a Spark executor), as the global LightGBM is.

    Out of sample (``benchmarks/bench_auto_forecast.py``, 2026-12-06) it moved the blend's chain
    RMSSE 0.2916 → 0.2449 and 0.2760 → 0.2579 on the generator's small scale and 0.7622 → 0.7400
    on Online Retail (rolling), the stores' totals 0.4283 → 0.4030 on small, and cost the SKU rows
    0.1–0.2%.
    """

    profile_seasons: int = 12
    damping: float = 0.98
    calendar: CalendarEffects | None = None
    pooled_growth: float = 0.0  # the panel's log growth per period
    pooled_profile: np.ndarray | None = None

    def fit(self, panel: Panel) -> LevelTimesProfileTrend:
        self.panel, self.calendar = panel, CalendarEffects.read(panel)
        values = self.calendar.adjust(panel)
        _, _, self.pooled_profile = level_and_profile(values, panel.season, panel.freq, self.profile_seasons)
        window = growth_window(values.shape[1], panel.freq)
        self.pooled_growth = 0.0
        if window:
            recent, before, known = windows_of_growth(values, window)
            if known.any():
                self.pooled_growth = float(log_growth(recent[known].sum(), before[known].sum())) / window
        return self

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        return self.predict_for(self.panel, horizon)

    def predict_for(self, panel: Panel, horizon: int) -> dict[str, np.ndarray]:
        values, m = self.calendar.adjust(panel), panel.season
        pooled = self.pooled_profile if len(self.pooled_profile) == m else None
        level, profile, _ = level_and_profile(values, m, panel.freq, self.profile_seasons, pooled)
        base = level[:, None] * profile[:, np.arange(horizon) % m] * self.calendar.ahead(panel, horizon)[None, :]
        window = growth_window(values.shape[1], panel.freq)
        if not window:
            return {"level_x_profile_trend": base}
        recent, before, known = windows_of_growth(values, window)
        weight = np.where(known, (recent + before) / (recent + before + GROWTH_UNITS), 0.0)
        per_period = weight * np.where(known, log_growth(recent, before), 0.0) / window + (1 - weight) * self.pooled_growth
        steps = np.arange(1, horizon + 1)
        damped = (window + 1) / 2 + self.damping * (1 - self.damping ** steps) / (1 - self.damping)
        return {"level_x_profile_trend": base * np.exp(per_period[:, None] * damped[None, :])}


def growth_window(periods: int, freq: str) -> int:
    """The level window a growth compares with the one before; 0 under two weeks of history."""
    window = min(LEVEL_WINDOW[freq], periods // 2)
    return window if window >= 7 else 0


@dataclass
class DayTimesHourShape(History):
    """Hourly: tickets(day, hour) ≈ day level × hour shape × weekday tilt. The shape is the series'
    own, for every day of the week; the tilt, shared by the panel's series, is how each weekday
    leans from it (Saturdays to the afternoon, say), so each store's shape is read on all its days
    and its weekends still get their own hours. The three are fitted on the open hours of the last
    ``shape_weeks`` weeks (alternating the factors, as iterative proportional fitting does, so a day
    that opens fewer hours is not read as a quieter one). A day ahead is its weekday's mean level
    over the last ``weeks`` weeks × shape × tilt, on the hours that weekday opened in the last 4
    weeks (as ``Panel.open_ahead`` reads them). Days are counted back from the last hour of the
    history, whole 24-hour blocks.

    The country's holidays and retail dates are read off the stores' daily totals
    (:class:`CalendarEffects`, as the daily members do): a special day in the level's weeks counts
    as a plain one, and a special day ahead gets its effect (a public holiday not seen yet, the
    median one seen; one seen closed, closed). ``pooled`` moves each series' weekday levels that
    share of the way to the panel's weekday pattern (steadier where stores share one); with
    ``yearly``, the level is moved as the season moved a year earlier (:func:`season_a_year_ago`),
    so a level read on weeks of a rising season is not left behind."""

    weeks: int = 8
    shape_weeks: int = 12
    pooled: float = 0.0
    yearly: bool = False
    label: str = "day_x_hour_shape"
    iterations: int = 10

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        values, week = self.panel.values, 168
        n_series = len(values)
        span = max(1, min(max(self.weeks, self.shape_weeks), values.shape[1] // week))
        cut = values.shape[1] - span * week
        tickets = np.clip(np.nan_to_num(values[:, cut:]), 0, None).reshape(n_series, span * 7, 24)
        opened = (self.panel.observed[:, cut:] & np.isfinite(values[:, cut:])).reshape(n_series, span * 7, 24)
        fit_days = slice(max(0, (span - self.shape_weeks) * 7), None)
        shape, tilt = day_hour_factors(tickets[:, fit_days], opened[:, fit_days], self.iterations)
        level_weeks = min(self.weeks, span)
        expected = opened[:, -level_weeks * 7:] * shape[:, None, :] * np.tile(tilt, (level_weeks, 1))[None]
        days = daily_totals(self.panel)
        effects = CalendarEffects.read(days)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            day = tickets[:, -level_weeks * 7:].sum(axis=2) / expected.sum(axis=2)  # NaN on a closed day
            day = effects.as_plain(day, days.index[-day.shape[1]:]).reshape(n_series, -1, 7)
            level = np.nan_to_num(np.nanmean(day, axis=1))
        if self.pooled:
            level = (1 - self.pooled) * level + self.pooled * weekday_pattern(level)
        open_weeks = max(1, min(4, span))
        open_lately = opened[:, -open_weeks * 7:].reshape(n_series, open_weeks, 7, 24).any(axis=1)
        forecast = (level[:, :, None] * shape[:, None, :] * tilt[None] * open_lately).reshape(n_series, week)
        ahead = effects.ahead(days, -(-horizon // 24))
        if self.yearly:
            ahead = ahead * season_a_year_ago(effects.adjust(days), level_weeks * 7, len(ahead))
        return {self.label: forecast[:, np.arange(horizon) % week] * np.repeat(ahead, 24)[None, :horizon]}


# Tickets of the whole panel a weekday-hour's tilt needs to count as much as no tilt at all.
TILT_PRIOR = 50.0


def day_hour_factors(tickets: np.ndarray, opened: np.ndarray, iterations: int,
                     prior: float = TILT_PRIOR) -> tuple[np.ndarray, np.ndarray]:
    """(each series' hour shape (series × 24, summing to 1), the weekday tilt (7 × 24, by a day's
    place in the week counted back from the last day)) fitted to ``tickets`` (series × days × 24;
    whole weeks) on its ``opened`` hours, day levels free. The tilt's mean is 1 over each weekday's
    hours (the day level holds that) and over each hour's weekdays (the shape holds that), else a
    store's shape and the tilt would trade places. A weekday-hour the panel never opened keeps a
    tilt of 1; a thin one is shrunk towards 1 by ``prior`` tickets, once the factors have settled
    (shrunk at every step, they settle ten times slower), and the shapes are refitted to it."""
    n_series, n_days, _ = tickets.shape
    place = np.arange(n_days) % 7
    shape, tilt = np.ones((n_series, 24)), np.ones((7, 24))
    counted = tickets.reshape(n_series, -1, 7, 24).sum(axis=(0, 1))

    def fit_shape(shape: np.ndarray, tilt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the shape, the tickets it expects per weekday-hour before any tilt), the tilt given."""
        day = tickets.sum(axis=2) / (opened * shape[:, None, :] * tilt[place][None]).sum(axis=2)
        spread = opened * np.nan_to_num(day)[:, :, None]
        shape = tickets.sum(axis=1) / np.maximum((spread * tilt[place][None]).sum(axis=1), 1e-9)
        shape /= np.maximum(shape.sum(axis=1, keepdims=True), 1e-9)
        return shape, (spread * shape[:, None, :]).reshape(n_series, -1, 7, 24).sum(axis=(0, 1))

    def tilt_of(expected: np.ndarray, prior: float) -> np.ndarray:
        tilt = np.where(expected > 0, (counted + prior) / (expected + prior), 1.0)
        weight = np.maximum(expected, 1e-9)
        for _ in range(5):
            tilt /= (tilt * weight).sum(axis=0, keepdims=True) / weight.sum(axis=0, keepdims=True)
            tilt /= (tilt * weight).sum(axis=1, keepdims=True) / weight.sum(axis=1, keepdims=True)
        return tilt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(iterations):
            shape, expected = fit_shape(shape, tilt)
            tilt = tilt_of(expected, 0.0)
        if prior:
            tilt = tilt_of(expected, prior)
            shape, _ = fit_shape(shape, tilt)
    return shape, tilt


def weekday_pattern(level: np.ndarray) -> np.ndarray:
    """Each series' weekday levels (series × 7, 0 where closed) redrawn with the panel's weekday
    pattern (the series' shares of their own mean open day, weighted by volume), keeping the
    series' mean open day and its closed weekdays."""
    open_days = level > 0
    mean_open = level.sum(axis=1) / np.maximum(open_days.sum(axis=1), 1)
    share = np.where(open_days, level / np.maximum(mean_open[:, None], 1e-9), 0.0)
    weight = mean_open[:, None] * open_days
    pattern = (share * weight).sum(axis=0) / np.maximum(weight.sum(axis=0), 1e-9)
    own_mean = (pattern[None, :] * open_days).sum(axis=1) / np.maximum(open_days.sum(axis=1), 1)
    return np.where(open_days, mean_open[:, None] * pattern[None, :] / np.maximum(own_mean[:, None], 1e-9), 0.0)


def season_a_year_ago(days: np.ndarray, window: int, horizon: int) -> np.ndarray:
    """How much busier each of the ``horizon`` days ahead was than the level's last ``window``
    days, a year earlier: the series' summed plain days (``days``: series × days, special days
    read as plain, closed NaN) 52 weeks back, over that weekday's mean in the window 52 weeks back,
    averaged over the week around the day. Summed are the series known in both year-ago spans, so
    a store opened since does not read as growth. 1 without a year of history before the window;
    held within [½, 2]."""
    n_days, year = days.shape[1], YEAR["D"]
    first = n_days - window - year
    if first < 0 or window < 7:
        return np.ones(horizon)
    around = [np.arange(max(0, t - 3), min(n_days, t + 4)) for t in range(n_days - year, n_days - year + horizon)]
    span = np.unique(np.concatenate(around))
    known = np.isfinite(days[:, first:first + window]).any(axis=1) & np.isfinite(days[:, span]).any(axis=1)
    if not known.any():
        return np.ones(horizon)
    total = np.where(np.isfinite(days[known]).any(axis=0), np.nansum(days[known], axis=0), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        by_weekday = np.nanmean(total[first:first + window].reshape(-1, 7), axis=0)
        by_weekday[~(by_weekday > 0)] = np.nan  # a weekday closed then tells nothing
        ratios = [np.nanmean(total[t] / by_weekday[(t - first) % 7]) for t in around]
    return np.clip(np.nan_to_num(np.array(ratios), nan=1.0), 0.5, 2.0)


def daily_totals(hours: Panel) -> Panel:
    """An hourly panel summed to days (whole 24-hour blocks counted back from its last hour): a
    day is open where any of its hours was, and unknown for a series where all its hours are."""
    n_series, periods = hours.values.shape
    cut = periods % 24
    blocks = hours.values[:, cut:].reshape(n_series, -1, 24)
    known = np.isfinite(blocks).any(axis=2)
    values = np.where(known, np.nansum(blocks, axis=2), np.nan)
    observed = hours.observed[:, cut:].reshape(n_series, -1, 24).any(axis=2)
    open_days = hours.open_periods[cut:].reshape(-1, 24).any(axis=1) & observed.any(axis=0)
    return Panel(hours.ids, hours.index[cut::24].normalize(), values, observed, "D", hours.country, open_days)


# Periods of history the statistical models see: two years of days, four of weeks, 16 weeks of hours
# (with a whole year of hours, MSTL kept the 20-store traffic benchmark running over 6 minutes
# without finishing one protocol; with 16 weeks a protocol took 143 s).
HISTORY = {"D": 730, "W": 208, "h": 16 * 168}
# ... and fewer on a chain's panel: AutoETS and Theta cost about 9 s per 1,000 daily series of a year
# on 2 cores, so beyond this many series × periods per fit the window shrinks (never below SHORTEST).
BUDGET = 1_500_000
SHORTEST = {"D": 91, "W": 52, "h": 8 * 168}


def history_periods(n_series: int, freq: str) -> int:
    """Periods of history the statistical models fit on for a panel of ``n_series`` series."""
    return max(SHORTEST[freq], min(HISTORY[freq], BUDGET // max(n_series, 1)))


@dataclass
class Statistical(History):
    """statsforecast's models, fitted together per series from its first record.

    Daily: AutoETS and the dynamic optimised Theta with a weekly season, ADIDA, CrostonSBA and TSB
    for intermittent sales. Weekly: AutoETS, Theta (yearly season once two years are known), ADIDA,
    CrostonSBA.
    Hourly: MSTL with daily and weekly seasons. A series too short for a model gets the naive.
    """

    n_jobs: int = 1
    periods: int | None = None  # history fitted on; None: by the panel's size (history_periods)

    def _models(self) -> list:
        from statsforecast.models import (
            ADIDA,
            MSTL,
            TSB,
            AutoETS,
            CrostonSBA,
            DynamicOptimizedTheta,
        )

        freq, seasons = self.panel.freq, self.panel.seasons
        if freq == "h":
            return [MSTL(season_length=list(seasons), alias="mstl")]
        m = max(seasons)
        ets_season = m if m <= 24 else 1  # ETS seasons above 24 are not estimable
        # Daily ETS without a trend, and one Theta variant (the dynamic optimised one) rather than
        # AutoTheta's search of four: both searches cost several times as long on 500 daily series.
        ets_model = "ZNZ" if freq == "D" else "ZZZ"
        models = [AutoETS(season_length=ets_season, model=ets_model, alias="auto_ets"),
                  DynamicOptimizedTheta(season_length=m, alias="theta"), ADIDA(alias="adida"),
                  CrostonSBA(alias="croston_sba")]
        if freq == "D":
            models.append(TSB(alpha_d=0.1, alpha_p=0.1, alias="tsb"))
        return models

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        from statsforecast import StatsForecast
        from statsforecast.models import Naive

        values = self.panel.values
        born = np.where(np.isfinite(values).any(axis=1), np.isfinite(values).argmax(axis=1), values.shape[1])
        window = self.periods or history_periods(len(values), self.panel.freq)  # fit fast
        born = np.maximum(born, values.shape[1] - window)
        lengths = values.shape[1] - born
        models = self._models()
        aliases = [model.alias for model in models]
        out = {alias: np.zeros((len(values), horizon)) for alias in aliases}
        fit = np.flatnonzero(lengths >= 3)
        if len(fit):
            ids = np.repeat(fit, lengths[fit])
            ds = np.concatenate([np.arange(born[i], values.shape[1]) for i in fit])
            frame = pd.DataFrame({"unique_id": ids, "ds": ds, "y": values[ids, ds]})
            engine = StatsForecast(models=models, freq=1, n_jobs=self.n_jobs, fallback_model=Naive())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                forecast = engine.forecast(df=frame, h=horizon)
            forecast = forecast.sort_values(["unique_id", "ds"])
            rows = forecast["unique_id"].to_numpy().reshape(-1, horizon)[:, 0]
            for alias in aliases:
                predicted = forecast[alias].to_numpy(float).reshape(-1, horizon)
                out[alias][rows] = np.clip(np.nan_to_num(predicted), 0, None)
        short = np.flatnonzero((lengths > 0) & (lengths < 3))
        for alias in aliases:  # a series of one or two periods: their mean
            out[alias][short] = nanmean(values[short], axis=1)[:, None]
        return out


def default_pool(panel: Panel, horizon: int) -> list[Forecaster]:
    """The members the backtest chooses among for this panel's frequency."""
    from models.global_gbm import GlobalGBM

    # statsforecast on both cores once the fit holds a few thousand periods: on 180 daily series of
    # 600 days one fit took 10.3 s on one core and 5.3 s on two, on 10 series 0.39 s and 0.34 s; at 5
    # series (3,000 periods) the process pool broke even (0.25 s either way), below it cost ~0.1 s.
    n_series = len(panel.ids)
    fitted = n_series * min(panel.values.shape[1], history_periods(n_series, panel.freq))
    n_jobs = -1 if fitted >= 5_000 else 1
    if panel.freq == "h":
        simple = [SeasonalNaive(), SeasonalWindowAverage(4), SeasonalWindowAverage(8), LevelTimesProfile(8),
                  DayTimesHourShape(),
                  DayTimesHourShape(shape_weeks=26, pooled=0.5, yearly=True, label="day_x_hour_shape_long")]
    elif panel.freq == "D":
        simple = [SeasonalNaive(), WindowAverage(7), WindowAverage(28), SeasonalWindowAverage(4),
                  SeasonalWindowAverage(8), LevelTimesProfile(12), LevelTimesProfileTrend()]
    else:
        simple = [SeasonalNaive(), WindowAverage(4), WindowAverage(8), WindowAverage(13), SeasonalWindowAverage(2)]
    # Prophet per series was tried as a member on the generator's store totals: the inner backtest
    # gave it weight, and out of sample the blend lost 1.6-2.1% RMSSE (bench_auto_forecast, small
    # stores, both protocols), so it is not in the pool.
    return [*simple, Statistical(n_jobs=n_jobs), GlobalGBM(horizon=horizon)]
