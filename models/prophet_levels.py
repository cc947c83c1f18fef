"""Prophet where it is strong: smooth aggregate series (a few dozen stores' daily totals), as a
member of the forecasting pool (models/pool.py).

Aggregates have enough volume for Prophet's weekly and yearly seasonality to show, and the
retail dates act as holidays with the ramp the calendar gives them (``EVENT_LEAD_DAYS``: the lift
builds over the days before the event). National holidays are holidays too.
"""

from __future__ import annotations

import logging
from datetime import date

import pandas as pd

from warehouse.calendar import EVENT_LEAD_DAYS, public_holidays, retail_event_days

INTERVAL = 0.8  # P10–P90


def holidays_frame(first: date, last: date, country: str = "BR") -> pd.DataFrame:
    """Prophet's holidays table: ``country``'s retail dates (with their ramp) and national holidays."""
    years = range(first.year, last.year + 2)
    rows = [{"holiday": name, "ds": pd.Timestamp(day), "lower_window": -EVENT_LEAD_DAYS[name], "upper_window": 0}
            for name, day in retail_event_days(years, country)]
    rows += [{"holiday": "feriado", "ds": pd.Timestamp(day), "lower_window": 0, "upper_window": 0}
             for day in public_holidays(years, country)]
    return pd.DataFrame(rows)


def fit_predict(history: pd.DataFrame, horizon: int, holidays: pd.DataFrame | None, freq: str = "D") -> pd.DataFrame:
    """Fit one series (``date``, ``units``) and forecast ``horizon`` periods (days, or weeks with
    ``freq="W"``) after its last date.

    Returns ``date``, ``mean``, ``p10``, ``p90`` (never below 0: units are counts).
    """
    from prophet import Prophet

    frame = pd.DataFrame({"ds": pd.to_datetime(history["date"]), "y": history["units"].astype(float)})
    yearly = (frame["ds"].max() - frame["ds"].min()).days >= 365
    model = Prophet(holidays=holidays, weekly_seasonality=freq == "D", yearly_seasonality=yearly,
                    daily_seasonality=False, interval_width=INTERVAL, uncertainty_samples=200)
    model.fit(frame)
    step = pd.Timedelta(days=1 if freq == "D" else 7)
    future = pd.DataFrame({"ds": [frame["ds"].max() + step * (k + 1) for k in range(horizon)]})
    out = model.predict(future)
    return pd.DataFrame({"date": out["ds"], "mean": out["yhat"].clip(lower=0),
                         "p10": out["yhat_lower"].clip(lower=0), "p90": out["yhat_upper"].clip(lower=0)})


def quiet() -> None:
    """Stan's progress lines and Prophet's optional-plotting notice, once per fit, drown the CLI."""
    for name in ("cmdstanpy", "prophet.plot"):
        logging.getLogger(name).disabled = True
    logging.getLogger("prophet").setLevel(logging.ERROR)
