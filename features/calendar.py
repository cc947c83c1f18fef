"""Calendar features per period (day or week): holidays and the distance to retail dates.

A few thousand rows, built in Python from warehouse.calendar and broadcast into the Spark jobs.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from warehouse.calendar import public_holidays, retail_event_days

EPOCH = date(1970, 1, 5)  # a Monday: period indexes count from here, so weeks start on Mondays


def period_start(day: date, period_days: int) -> date:
    return day - timedelta(days=(day - EPOCH).days % period_days)


def calendar_frame(first: date, last: date, period_days: int, country: str = "BR") -> pd.DataFrame:
    """One row per period starting in ``[first, last]``: the CALENDAR features of definitions.py,
    from ``country``'s holidays and retail dates."""
    years = range(first.year - 1, last.year + 2)
    holidays = public_holidays(years, country)
    events = retail_event_days(years, country)
    event_days = {d for _, d in events}
    rows = []
    start = period_start(first, period_days)
    while start <= last:
        days = [start + timedelta(days=i) for i in range(period_days)]
        upcoming = next((e for e in events if e[1] >= start), None)
        previous = next((e for e in reversed(events) if e[1] < start), None)
        rows.append({
            "date": start,
            "holidays_in_period": sum(d in holidays for d in days),
            "retail_event_in_period": int(any(d in event_days for d in days)),
            "days_to_next_event": (upcoming[1] - start).days if upcoming else None,
            "days_since_last_event": (start - previous[1]).days if previous else None,
            "next_event": upcoming[0] if upcoming else None,
        })
        start += timedelta(days=period_days)
    return pd.DataFrame(rows)
