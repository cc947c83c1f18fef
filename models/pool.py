"""The forecasting pool: every demand and traffic model behind one small contract.

A member is fitted on a :class:`~models.panel.Panel` (the history as it stood at an origin) and
predicts the next ``horizon`` periods of every series, as ``{name: array series × horizon}`` of
expected values. A member may give several named forecasts from one fit (statsforecast fits its
models together). The backtest (``models.ensemble``) takes a list of members, never named special
cases, so adding a method is adding an object here.

The pool holds the strong simple methods, because on retail data they are hard to beat: the
seasonal naive, window averages, the same-period averages of the last few seasons, the level ×
seasonal-profile method, for hours each weekday's level × one hour-of-day shape, and from statsforecast AutoETS, Theta, ADIDA, CrostonSBA and TSB
(intermittent SKUs) and MSTL (hourly traffic with daily and weekly seasons). The global LightGBM
(``models.global_gbm``) learns across series what the simple methods cannot: the calendar,
holidays, year-ago patterns, growth.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from models.panel import LEVEL_WINDOW, Panel, nanmean


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


@dataclass
class LevelTimesProfile(History):
    """The series' recent level × its seasonal profile: mean per period of the last ``window``
    periods, times the share of each position in the season (weekday; hour of the week) over the
    last ``profile_seasons`` seasons, shrunk towards the panel's pooled profile for sparse series.
    Periods with net returns (negative units) count as no sales in the profile."""

    profile_seasons: int = 12

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        values, m = self.panel.values, self.panel.season
        window = min(LEVEL_WINDOW[self.panel.freq], values.shape[1])
        level = np.nan_to_num(nanmean(values[:, -window:], axis=1))
        n_seasons = max(1, min(self.profile_seasons, values.shape[1] // m))
        last = values[:, values.shape[1] - n_seasons * m:].reshape(len(values), n_seasons, m)
        totals = np.nansum(np.clip(last, 0, None), axis=1)  # series × position; a day of net returns is no demand
        pooled = totals.sum(axis=0) / max(totals.sum(), 1e-9) * m
        volume = totals.sum(axis=1, keepdims=True)
        own = totals / np.maximum(volume, 1e-9) * m
        weight = volume / (volume + 20.0)  # 20 units before a series' own profile counts half
        profile = weight * own + (1 - weight) * pooled[None, :]
        return {"level_x_profile": level[:, None] * profile[:, np.arange(horizon) % m]}


@dataclass
class DayTimesHourShape(History):
    """Hourly: tickets(day, hour) ≈ day level × hour shape, one shape per series for every day of
    the week, fitted on the open hours of the last ``shape_weeks`` weeks (alternating the two
    factors, as iterative proportional fitting does, so a day that opens fewer hours is not read as
    a quieter one). A day ahead is its weekday's mean level over the last ``weeks`` weeks × the
    shape, on the hours that weekday opened in the last 4 weeks (as ``Panel.open_ahead`` reads
    them). The busiest hours are read from seven times the days a same-hour-of-the-week average
    has, so they are steadier: the staffing plan's peaks. Days are counted back from the last hour
    of the history, whole 24-hour blocks."""

    weeks: int = 8
    shape_weeks: int = 12
    iterations: int = 10

    def predict(self, horizon: int) -> dict[str, np.ndarray]:
        values, week = self.panel.values, 168
        n_series = len(values)
        span = max(1, min(max(self.weeks, self.shape_weeks), values.shape[1] // week))
        cut = values.shape[1] - span * week
        tickets = np.clip(np.nan_to_num(values[:, cut:]), 0, None).reshape(n_series, span * 7, 24)
        opened = (self.panel.observed[:, cut:] & np.isfinite(values[:, cut:])).reshape(n_series, span * 7, 24)
        fit_days = slice(max(0, (span - self.shape_weeks) * 7), None)
        x, m = tickets[:, fit_days], opened[:, fit_days]
        shape = np.ones((n_series, 24))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for _ in range(self.iterations):
                day = x.sum(axis=2) / (m * shape[:, None, :]).sum(axis=2)  # NaN on a closed day
                shape = x.sum(axis=1) / np.maximum(np.nansum(m * np.nan_to_num(day)[:, :, None], axis=1), 1e-9)
                shape /= np.maximum(shape.sum(axis=1, keepdims=True), 1e-9)
            level_days = tickets[:, -min(self.weeks, span) * 7:]
            level_open = opened[:, -min(self.weeks, span) * 7:]
            day = level_days.sum(axis=2) / (level_open * shape[:, None, :]).sum(axis=2)
            weeks_back = day.reshape(n_series, -1, 7)
            level = np.nan_to_num(np.nanmean(np.where(np.isfinite(weeks_back), weeks_back, np.nan), axis=1))
        open_weeks = max(1, min(4, span))
        open_lately = opened[:, -open_weeks * 7:].reshape(n_series, open_weeks, 7, 24).any(axis=1)
        forecast = (level[:, :, None] * shape[:, None, :] * open_lately).reshape(n_series, week)
        return {"day_x_hour_shape": forecast[:, np.arange(horizon) % week]}


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
                  DayTimesHourShape()]
    elif panel.freq == "D":
        simple = [SeasonalNaive(), WindowAverage(7), WindowAverage(28), SeasonalWindowAverage(4),
                  SeasonalWindowAverage(8), LevelTimesProfile(12)]
    else:
        simple = [SeasonalNaive(), WindowAverage(4), WindowAverage(8), WindowAverage(13), SeasonalWindowAverage(2)]
    # Prophet per series was tried as a member on the generator's store totals: the inner backtest
    # gave it weight, and out of sample the blend lost 1.6-2.1% RMSSE (bench_auto_forecast, small
    # stores, both protocols), so it is not in the pool.
    return [*simple, Statistical(n_jobs=n_jobs), GlobalGBM(horizon=horizon)]
