"""Brazil's calendar as retail sees it: national holidays and the retail dates that move demand.

One place for it: the generator plants demand around these dates, the feature pipelines measure
the distance to them, and the forecasters use them as holidays.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays

# name -> (demand multiplier planted on the day, days before it that the lift ramps up over)
RETAIL_EVENTS: dict[str, tuple[float, int]] = {
    "Dia das Mães": (2.2, 7),
    "Dia dos Namorados": (1.8, 4),
    "Black Friday": (2.5, 2),
    "Natal": (2.4, 10),
}


def retail_event_days(years: range) -> list[tuple[str, date]]:
    """Each retail event's day in ``years``, sorted by day."""
    out = []
    for y in years:
        may = date(y, 5, 1)
        nov = date(y, 11, 30)
        out += [
            ("Dia das Mães", may + timedelta(days=(6 - may.weekday()) % 7 + 7)),  # 2nd Sunday of May
            ("Dia dos Namorados", date(y, 6, 12)),
            ("Black Friday", nov - timedelta(days=(nov.weekday() - 4) % 7)),  # last Friday of November
            ("Natal", date(y, 12, 24)),
        ]
    return sorted(out, key=lambda e: e[1])


def retail_dates(years: range) -> dict[date, tuple[str, float]]:
    """Every day under a retail event's influence and its demand multiplier (ramping up to the day)."""
    out: dict[date, tuple[str, float]] = {}
    for name, day in retail_event_days(years):
        lift, lead = RETAIL_EVENTS[name]
        for k in range(lead + 1):
            d = day - timedelta(days=k)
            out[d] = (name, max(out.get(d, ("", 1.0))[1], 1 + (lift - 1) * (1 - k / (lead + 1))))
    return out


def brazil_holidays(years: range) -> dict[date, str]:
    """National holidays of Brazil (the ``holidays`` package) by day."""
    return dict(holidays.country_holidays("BR", years=years).items())
