"""Baseline demand forecasts every model must beat on the same backtest: seasonal naive and a
moving average, for many series at once.

Input: a long frame with the series key columns, ``date`` and ``units``, one row per series and
day (dense, as the demand features are). Output: one row per series and forecast day with
``p50``. Both are deliberately simple: they are the bar, not the product.
"""

from __future__ import annotations

import pandas as pd


def _future(history: pd.DataFrame, keys: list[str], horizon: int) -> pd.DataFrame:
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 day, got {horizon}")
    if history.empty:
        raise ValueError("no history to forecast from")
    last = pd.Timestamp(history["date"].max())
    days = pd.date_range(last + pd.Timedelta(days=1), periods=horizon, freq="D")
    series = history[keys].drop_duplicates()
    grid = series.merge(pd.DataFrame({"date": days}), how="cross")
    return grid


def seasonal_naive(history: pd.DataFrame, keys: list[str], horizon: int, season: int = 7) -> pd.DataFrame:
    """Each forecast day repeats the same day of the last complete season (last week by default).

    A series whose last season has missing days gets 0 for them (no sale recorded).
    """
    grid = _future(history, keys, horizon)
    last = pd.Timestamp(history["date"].max())
    lag = ((grid["date"] - last).dt.days - 1) % season + 1 - season  # days back into the last season
    grid["source"] = last + pd.to_timedelta(lag, unit="D")
    source = history[[*keys, "date", "units"]].rename(columns={"date": "source", "units": "p50"})
    out = grid.merge(source, on=[*keys, "source"], how="left").drop(columns="source")
    out["p50"] = out["p50"].fillna(0.0).astype(float)
    return out


def moving_average(history: pd.DataFrame, keys: list[str], horizon: int, window: int = 28) -> pd.DataFrame:
    """Each forecast day is the mean daily units of the last ``window`` days (missing days count 0)."""
    grid = _future(history, keys, horizon)
    last = pd.Timestamp(history["date"].max())
    recent = history[pd.to_datetime(history["date"]) > last - pd.Timedelta(days=window)]
    means = (recent.groupby(keys, as_index=False)["units"].sum()
             .assign(p50=lambda f: f["units"] / window).drop(columns="units"))
    out = grid.merge(means, on=keys, how="left")
    out["p50"] = out["p50"].fillna(0.0).astype(float)
    return out


def rolling_origins(first: pd.Timestamp, last: pd.Timestamp, folds: int = 3, horizon: int = 28,
                    min_history: int = 56) -> list[pd.Timestamp]:
    """Backtest origins (the last day of history of each fold), oldest first, the last fold ending
    on ``last``; folds do not overlap. Fails plainly when the data is too short for them."""
    if folds < 1:
        raise ValueError(f"folds must be at least 1, got {folds}")
    origins = [pd.Timestamp(last) - pd.Timedelta(days=horizon * k) for k in range(folds, 0, -1)]
    if (origins[0] - pd.Timestamp(first)).days + 1 < min_history:
        needed = min_history + folds * horizon
        raise ValueError(f"{folds} folds of {horizon} days after {min_history} days of history need {needed} days "
                         f"of data; there are {(pd.Timestamp(last) - pd.Timestamp(first)).days + 1}")
    return origins

