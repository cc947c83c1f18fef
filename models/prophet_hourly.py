"""Prophet on a store's hourly tickets: daily and weekly seasonality, holidays, the retail ramps.

One fit per store on its recent open hours (``weeks`` of them: enough for the weekly shape, short
enough that a fit takes about a second). Saturdays get their own daily shape (a conditional
seasonality), because a store's Saturday peaks later than its weekday peaks. Closed hours are
simply absent: Prophet needs no regular grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.prophet_levels import INTERVAL, holidays_frame, in_pool
from models.traffic import TrafficHistory


def fit_predict_hours(history: pd.DataFrame, future: pd.DataFrame, holidays: pd.DataFrame) -> pd.DataFrame:
    """Fit one store's (``ds``, ``y``) and forecast the timestamps of ``future`` (``ds``).

    Returns ``ds``, ``mean``, ``p10``, ``p90`` (never below 0).
    """
    from prophet import Prophet

    model = Prophet(holidays=holidays, daily_seasonality=False, weekly_seasonality=False, yearly_seasonality=False,
                    interval_width=INTERVAL, uncertainty_samples=200)
    model.add_seasonality("daily", period=1, fourier_order=8, condition_name="weekday")
    model.add_seasonality("daily_saturday", period=1, fourier_order=8, condition_name="saturday")
    model.add_seasonality("weekly", period=7, fourier_order=4)
    model.fit(_conditions(history))
    out = model.predict(_conditions(future))
    return pd.DataFrame({"ds": out["ds"], "mean": out["yhat"].clip(lower=0), "p10": out["yhat_lower"].clip(lower=0),
                         "p90": out["yhat_upper"].clip(lower=0)})


def _conditions(frame: pd.DataFrame) -> pd.DataFrame:
    saturday = frame["ds"].dt.day_of_week == 5
    return frame.assign(saturday=saturday, weekday=~saturday)


def forecast_stores(history: TrafficHistory, origin: int, s: np.ndarray, d: np.ndarray, h: np.ndarray,
                    weeks: int = 16, workers: int | None = None) -> np.ndarray:
    """Mean, P10 and P90 (rows × 3) for the rows (store ``s``, day ``d``, hour ``h``), one Prophet
    per store fitted on its ``weeks`` weeks of open hours up to ``origin``."""
    start = max(0, origin - 7 * weeks + 1)
    calls, order = [], []
    holidays = holidays_frame(history.day(start).date(), history.day(int(d.max())).date(), history.country)
    for store in np.unique(s):
        values = history.tickets[store, start: origin + 1]
        day, hour = np.nonzero(np.isfinite(values))
        if len(day) < 14:
            continue  # too little history: the rows stay NaN and the store falls back (see training)
        past = pd.DataFrame({"ds": _stamps(history, start + day, hour), "y": values[day, hour]})
        rows = np.flatnonzero(s == store)
        stamps = _stamps(history, d[rows], h[rows])
        calls.append((past, pd.DataFrame({"ds": stamps}), holidays))
        order.append((rows, stamps))
    out = np.full((len(s), 3), np.nan)
    for (rows, stamps), result in zip(order, in_pool(fit_predict_hours, calls, workers)):
        out[rows] = result.set_index("ds").reindex(stamps)[["mean", "p10", "p90"]].to_numpy()  # Prophet sorts by ds
    return out


def _stamps(history: TrafficHistory, days: np.ndarray, hours: np.ndarray) -> pd.Series:
    return pd.Series(history.day(days) + pd.to_timedelta(hours, unit="h"))
