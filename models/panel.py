"""Many series on one regular time grid, as one dense array: the input of the forecasting pool.

A retailer's export lists what sold; what did not sell is absent. The panel puts every series on
the same grid of periods (days, weeks or hours) from its first record to the last period of the
data, and fills the periods it has no row for with 0 (nothing sold, no ticket). Periods before a
series' first record are NaN: the series did not exist yet, so they are neither trained on nor
scored. This is what makes "a SKU that has not sold yet this month" still get a forecast, and what
keeps a future sale from creating a past training row.

``observed`` marks the cells that count when a forecast is scored: the series' life for demand,
the hours a store was open for traffic.

``covariates`` are known-ahead drivers (the planned price and promotion depth): one array per
driver, series × (periods + the horizon), so that the periods being forecast have their plan too.
A backtest fold reads the plan of its forecast window from the history, as a planner had it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import pandas as pd

# Per frequency: the seasons the models look at, the periods of a year, and the window (in
# periods) that sets each series' current level.
SEASONS = {"D": (7,), "W": (52,), "h": (24, 168)}
YEAR = {"D": 364, "W": 52, "h": 364 * 24}
LEVEL_WINDOW = {"D": 28, "W": 8, "h": 28 * 24}


class TooLittleHistory(ValueError):
    """A member that cannot fit this panel (too few rows for it): the backtest leaves it out and the
    pool goes on with the others. Any other error is the caller's to see."""


@dataclass
class Panel:
    """Values of ``len(ids)`` series on the grid ``index`` (one column per period)."""

    ids: np.ndarray
    index: pd.DatetimeIndex
    values: np.ndarray  # float (series × periods); NaN before a series' first record
    observed: np.ndarray  # bool, same shape: the cells that are scored
    freq: str  # "D", "W" or "h"
    country: str | None = "BR"
    open_periods: np.ndarray | None = None  # bool per period: any series had a row (None: all)
    covariates: dict[str, np.ndarray] | None = None  # name → series × (periods + horizon), see the module doc

    def __post_init__(self) -> None:
        if self.freq not in SEASONS:
            raise ValueError(f"unknown frequency {self.freq!r}: use one of {', '.join(SEASONS)}")
        if self.open_periods is None:
            self.open_periods = np.ones(len(self.index), bool)
        if self.values.shape != (len(self.ids), len(self.index)) or self.observed.shape != self.values.shape:
            raise ValueError(f"values {self.values.shape} and observed {self.observed.shape} must be "
                             f"series × periods = ({len(self.ids)}, {len(self.index)})")

    @property
    def step(self) -> pd.Timedelta:
        return {"D": pd.Timedelta(days=1), "W": pd.Timedelta(weeks=1), "h": pd.Timedelta(hours=1)}[self.freq]

    @property
    def seasons(self) -> tuple[int, ...]:
        """The seasonal periods there is enough history for (two full cycles)."""
        return tuple(m for m in SEASONS[self.freq] if len(self.index) >= 2 * m) or (1,)

    @property
    def season(self) -> int:
        """The longest usable season: the one a seasonal naive repeats."""
        return max(self.seasons)

    def upto(self, origin: int) -> Panel:
        """The panel as it stood at period ``origin`` (inclusive): what a backtest fold may see."""
        keep = slice(0, origin + 1)
        return Panel(self.ids, self.index[keep], self.values[:, keep], self.observed[:, keep], self.freq, self.country,
                     self.open_periods[keep], self.covariates)

    def subset(self, rows: np.ndarray) -> Panel:
        """The same grid for the series at positions ``rows``."""
        covariates = None if self.covariates is None else {k: v[rows] for k, v in self.covariates.items()}
        return Panel(self.ids[rows], self.index, self.values[rows], self.observed[rows], self.freq, self.country,
                     self.open_periods, covariates)

    def open_ahead(self, horizon: int) -> np.ndarray:
        """series × the next ``horizon`` periods: True where the series is expected to trade.

        Days: False on a weekday the retailer kept closed in each of the last 8 weeks (no row for
        any series). Hours: True on an hour of the week the store was open in any of its last 4 weeks.
        """
        n = len(self.ids)
        if self.freq == "W":
            return np.ones((n, horizon), bool)
        if self.freq == "D":
            return np.broadcast_to(~closed_days(self.future(horizon), self.index[self.open_periods]), (n, horizon)).copy()
        week = 168
        weeks = max(1, min(4, self.values.shape[1] // week))
        recent = self.observed[:, self.values.shape[1] - weeks * week:].reshape(n, weeks, week).any(axis=1)
        return recent[:, np.arange(horizon) % week]

    def future(self, horizon: int) -> pd.DatetimeIndex:
        """The ``horizon`` periods after the last one."""
        return pd.DatetimeIndex([self.index[-1] + self.step * (k + 1) for k in range(horizon)])


def nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmean`` without the warning for all-NaN slices (a series younger than the window): NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=axis)


def naive_mse(values: np.ndarray, t: int) -> np.ndarray:
    """Each series' mean squared one-period change up to period ``t``: the RMSSE denominator at
    that origin (NaN for a series with fewer than two periods)."""
    return nanmean(np.diff(values[:, : t + 1], axis=1) ** 2, axis=1)


def local_times(column: pd.Series) -> tuple[pd.Series, tzinfo | None]:
    """``column`` read as naive local wall-clock times (NaT where unreadable) and its time zone.
    A tz-aware column, or text with one UTC offset, keeps its zone (the forecast's dates carry it
    back); text whose offsets differ (a year of local times across summer time) is read at each
    row's own wall clock, with no zone to give back."""
    with warnings.catch_warnings():  # pandas' notice that mixed offsets will need utc=True
        warnings.simplefilter("ignore", FutureWarning)
        times = pd.to_datetime(column, errors="coerce")
    if times.dtype == object:  # offsets differ from row to row
        wall = [t.tz_localize(None) if isinstance(t, pd.Timestamp) and t.tzinfo else t for t in times]
        return pd.Series(pd.to_datetime(wall, errors="coerce"), index=column.index), None
    zone = times.dt.tz
    return (times.dt.tz_localize(None) if zone is not None else times), zone


def _recorded(history: pd.DataFrame, times: pd.Series, column: str, counts: bool
              ) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The rows of ``history`` (and their ``times``) with ``column`` read as numbers, less the rows
    where it is blank (NaN, None): a dense export writes a blank where nothing was recorded, which
    is no record, as an absent row. Text that is not a number, or with ``counts`` a negative
    number, is refused with its row."""
    values = pd.to_numeric(history[column], errors="coerce")
    wrong = values.isna() & history[column].notna()
    if counts:
        wrong |= values < 0
    if wrong.any():
        row = int(np.flatnonzero(wrong.to_numpy())[0])
        expected = "a count ≥ 0" if counts else "a number"
        raise ValueError(f"history row {row}: {column} {history[column].iloc[row]!r} is not {expected}")
    recorded = values.notna().to_numpy()
    if not recorded.any():
        raise ValueError(f"history has no {column}: every row's {column} is blank")
    if recorded.all():
        return history, times, values
    return history[recorded], times[recorded], values[recorded]


def _no_missing_ids(history: pd.DataFrame, column: str) -> None:
    missing = history[column].isna().to_numpy()
    if missing.any():
        raise ValueError(f"history row {int(np.flatnonzero(missing)[0])}: {column} is missing")


def demand_panel(history: pd.DataFrame, freq: str, country: str | None = "BR", future: pd.DataFrame | None = None,
                 start: pd.Timestamp | None = None) -> Panel:
    """Units per series and period from rows of ``series_id, date, units``.

    Daily: one column per calendar day. Weekly: one column every 7 days from the first date, on
    the input's weekday (a date between two grid weeks counts in the week it falls in). A series
    starts at its first row; a period it has no row for afterwards sold 0.

    ``future`` (``series_id, date`` and ``price`` and/or ``on_promo``, for the periods to forecast)
    is the plan. Only a driver given both in ``history`` and in ``future`` becomes a covariate: a
    driver the model learnt from but cannot see ahead would be guessed, and a guess is worse than
    nothing.

    ``start``: the grid's first period when it is earlier than the history's first date (a part
    of a bigger panel, one store's series, keeps the whole panel's grid).
    """
    missing = {"series_id", "date", "units"} - set(history.columns)
    if missing:
        raise ValueError(f"history lacks column(s) {', '.join(sorted(missing))}: expected series_id, date, units")
    if history.empty:
        raise ValueError("history is empty: there is nothing to forecast from")
    if freq not in ("D", "W"):
        raise ValueError(f"freq must be 'D' (days) or 'W' (weeks), got {freq!r}")
    _no_missing_ids(history, "series_id")
    dates, _ = local_times(history["date"])
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise ValueError(f"history row {row}: date {history['date'].iloc[row]!r} is not a date")
    history, dates, units = _recorded(history, dates, "units", counts=False)
    dates = dates.dt.normalize()
    period_days = 1 if freq == "D" else 7
    first, last = dates.min(), dates.max()
    if start is not None and pd.Timestamp(start) < first:
        first = pd.Timestamp(start)
    position = ((dates - first).dt.days // period_days).to_numpy()
    n_periods = int((last - first).days // period_days) + 1
    index = pd.DatetimeIndex([first + pd.Timedelta(days=period_days * k) for k in range(n_periods)])
    codes, ids = pd.factorize(history["series_id"], sort=False)
    values = np.zeros((len(ids), n_periods))
    np.add.at(values, (codes, position), units.to_numpy(float))
    born = np.full(len(ids), n_periods)
    np.minimum.at(born, codes, position)
    alive = np.arange(n_periods)[None, :] >= born[:, None]
    values[~alive] = np.nan
    open_periods = np.zeros(n_periods, bool)
    open_periods[position] = True
    covariates = None
    if future is not None:
        covariates = _covariates(history, future, pd.Index(ids), first, period_days, n_periods)
    return Panel(np.asarray(ids), index, values, alive, "D" if freq == "D" else "W", country, open_periods, covariates)


COVARIATES = ("price", "on_promo")  # known-ahead drivers fit_demand reads when history and future both have them


def _covariates(history: pd.DataFrame, future: pd.DataFrame, ids: pd.Index, first: pd.Timestamp, period_days: int,
                n_periods: int) -> dict[str, np.ndarray] | None:
    """Each driver per series × period, history then plan: ``price_ratio`` (the price over the
    series' median price; carried forward over periods without one) and ``on_promo`` (1/0, or the
    discount's depth as a fraction; 0 where not given). Periods are averaged (weekly data)."""
    names = [c for c in COVARIATES if c in history.columns and c in future.columns]
    if not names:
        return None
    missing = {"series_id", "date"} - set(future.columns)
    if missing:
        raise ValueError(f"future lacks column(s) {', '.join(sorted(missing))}: expected series_id, date and the plan")
    both = pd.concat([history[["series_id", "date", *names]], future[["series_id", "date", *names]]], ignore_index=True)
    codes = ids.get_indexer(both["series_id"])
    if (codes < 0).any():
        unknown = both["series_id"].iloc[int(np.flatnonzero(codes < 0)[0])]
        raise ValueError(f"future names series {unknown!r}, which has no history")
    dates = pd.to_datetime(both["date"], errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0]) - len(history)
        raise ValueError(f"future row {row}: date is not a date")
    dates = (dates.dt.tz_localize(None) if dates.dt.tz is not None else dates).dt.normalize()
    position = ((dates - first).dt.days // period_days).to_numpy()
    width = max(int(position.max()) + 1, n_periods)
    out = {}
    for name in names:
        raw = pd.to_numeric(both[name], errors="coerce").to_numpy(float)
        known = np.isfinite(raw) & (position >= 0)
        total, count = np.zeros((len(ids), width)), np.zeros((len(ids), width))
        np.add.at(total, (codes[known], position[known]), raw[known])
        np.add.at(count, (codes[known], position[known]), 1)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        if name == "price":
            carried = pd.DataFrame(mean).ffill(axis=1).bfill(axis=1).to_numpy()
            median = nanmedian_rows(carried[:, :n_periods])
            out["price_ratio"] = np.nan_to_num(carried / np.where(median > 0, median, np.nan)[:, None], nan=1.0)
        else:
            out[name] = np.nan_to_num(mean)
    return out


def nanmedian_rows(values: np.ndarray) -> np.ndarray:
    """Each row's median ignoring NaN (NaN for an all-NaN row), without the warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=1)


def traffic_panel(history: pd.DataFrame, country: str | None = "BR") -> Panel:
    """Tickets per store and hour from rows of ``store_id, hour_start, tickets`` (closed hours absent).

    The grid runs hour by hour from midnight of the first day to 23:00 of the last; an hour with
    no row is 0 tickets, and counts in scoring only where the store had a row (it was open).
    """
    missing = {"store_id", "hour_start", "tickets"} - set(history.columns)
    if missing:
        raise ValueError(f"history lacks column(s) {', '.join(sorted(missing))}: expected store_id, hour_start, tickets")
    if history.empty:
        raise ValueError("history is empty: there is nothing to forecast from")
    _no_missing_ids(history, "store_id")
    hours, _ = local_times(history["hour_start"])
    if hours.isna().any():
        row = int(np.flatnonzero(hours.isna().to_numpy())[0])
        raise ValueError(f"history row {row}: hour_start {history['hour_start'].iloc[row]!r} is not a time")
    hours = hours.dt.floor("h")
    history, hours, tickets = _recorded(history, hours, "tickets", counts=True)  # a blank hour: closed
    first = hours.min().normalize()
    last = hours.max().normalize() + pd.Timedelta(hours=23)
    index = pd.date_range(first, last, freq="h")
    position = ((hours - first) // pd.Timedelta(hours=1)).to_numpy()
    codes, ids = pd.factorize(history["store_id"], sort=True)
    values = np.zeros((len(ids), len(index)))
    observed = np.zeros(values.shape, bool)
    np.add.at(values, (codes, position), tickets.to_numpy(float))
    observed[codes, position] = True
    born = np.full(len(ids), len(index))
    np.minimum.at(born, codes, (position // 24) * 24)
    values[np.arange(len(index))[None, :] < born[:, None]] = np.nan
    return Panel(np.asarray(ids), index, values, observed, "h", country)


def closed_days(dates: pd.DatetimeIndex, present: pd.DatetimeIndex) -> np.ndarray:
    """For future ``dates``: True on a weekday the retailer kept closed in each of its last 8 weeks
    (no row at all that day, for any series). A store that opens on Sundays loses nothing."""
    present_days = set(pd.DatetimeIndex(present).normalize())
    last = pd.DatetimeIndex(present).max().normalize()
    out = np.zeros(len(dates), bool)
    for j, day in enumerate(pd.DatetimeIndex(dates).normalize()):
        back = (last - day).days % 7 or 7  # days from `last` back to the same weekday
        same_weekdays = [last - pd.Timedelta(days=back + 7 * w) for w in range(8)]
        same_weekdays = [d for d in same_weekdays if d >= pd.DatetimeIndex(present).min().normalize()]
        out[j] = len(same_weekdays) >= 4 and not any(d in present_days for d in same_weekdays)
    return out

