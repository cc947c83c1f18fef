"""The retail calendar of a country: national holidays and the retail dates that move demand.

One place for it: the generator plants demand around Brazil's dates (CosmeticCo), the feature
pipelines measure the distance to the dates of the retailer's country (``VITRINE_COUNTRY``), and
the forecasters use them as holidays.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays
from dateutil.easter import easter


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_friday_of_november(year: int) -> date:
    nov = date(year, 11, 30)
    return nov - timedelta(days=(nov.weekday() - 4) % 7)


# The retail dates that move demand, per country (ISO code): name -> the day in a year. Countries
# not listed get Valentine's Day, Black Friday and Christmas Eve. BR follows CosmeticCo's calendar.
RETAIL_CALENDARS: dict[str, dict[str, object]] = {
    "BR": {"Dia das Mães": lambda y: _nth_weekday(y, 5, 6, 2), "Dia dos Namorados": lambda y: date(y, 6, 12),
           "Black Friday": _last_friday_of_november, "Natal": lambda y: date(y, 12, 24)},
    "PT": {"Dia da Mãe": lambda y: _nth_weekday(y, 5, 6, 1), "Dia dos Namorados": lambda y: date(y, 2, 14),
           "Black Friday": _last_friday_of_november, "Natal": lambda y: date(y, 12, 24)},
    "US": {"Valentine's Day": lambda y: date(y, 2, 14), "Mother's Day": lambda y: _nth_weekday(y, 5, 6, 2),
           "Black Friday": lambda y: _nth_weekday(y, 11, 3, 4) + timedelta(days=1),
           "Christmas Eve": lambda y: date(y, 12, 24)},
    "GB": {"Valentine's Day": lambda y: date(y, 2, 14), "Mothering Sunday": lambda y: easter(y) - timedelta(days=21),
           "Black Friday": _last_friday_of_november, "Christmas Eve": lambda y: date(y, 12, 24)},
}
DEFAULT_RETAIL_CALENDAR = {"Valentine's Day": lambda y: date(y, 2, 14), "Black Friday": _last_friday_of_november,
                           "Christmas Eve": lambda y: date(y, 12, 24)}
# days before an event that its lift builds over (the ramp Prophet and the features see)
EVENT_LEAD_DAYS = {"Dia das Mães": 7, "Dia da Mãe": 7, "Mother's Day": 7, "Mothering Sunday": 7,
                   "Dia dos Namorados": 4, "Valentine's Day": 4, "Black Friday": 2, "Natal": 10, "Christmas Eve": 10}


# Brazil's events as the generator plants them: name -> (demand multiplier on the day, days before
# it that the lift ramps up over)
RETAIL_EVENTS: dict[str, tuple[float, int]] = {
    name: (lift, EVENT_LEAD_DAYS[name])
    for name, lift in {"Dia das Mães": 2.2, "Dia dos Namorados": 1.8, "Black Friday": 2.5, "Natal": 2.4}.items()
}


def retail_event_days(years: range, country: str | None = "BR") -> list[tuple[str, date]]:
    """Each retail event's day in ``years`` for ``country`` (the common dates for ``None``), sorted by day."""
    events = RETAIL_CALENDARS.get((country or "").upper(), DEFAULT_RETAIL_CALENDAR)
    return sorted(((name, rule(y)) for y in years for name, rule in events.items()), key=lambda e: e[1])


def retail_dates(years: range) -> dict[date, tuple[str, float]]:
    """Every day under a retail event's influence and its demand multiplier (ramping up to the day)."""
    out: dict[date, tuple[str, float]] = {}
    for name, day in retail_event_days(years):
        lift, lead = RETAIL_EVENTS[name]
        for k in range(lead + 1):
            d = day - timedelta(days=k)
            out[d] = (name, max(out.get(d, ("", 1.0))[1], 1 + (lift - 1) * (1 - k / (lead + 1))))
    return out


def public_holidays(years: range, country: str | None = "BR") -> dict[date, str]:
    """National public holidays of ``country`` (ISO code, the ``holidays`` package) by day; none
    for ``country=None`` (a retailer across countries, or data without a calendar)."""
    if country is None:
        return {}
    try:
        return dict(holidays.country_holidays(country.upper(), years=years).items())
    except NotImplementedError as error:
        raise ValueError(f"unknown country {country!r} for the holiday calendar: use an ISO 3166 code the "
                         f"'holidays' package knows (BR, PT, GB, US, …; VITRINE_COUNTRY for the pipeline)") from error


def special_days(first: date, last: date, country: str) -> dict[date, tuple[str, bool]]:
    """Each public holiday and retail date of ``country`` from ``first`` to ``last``: (its key,
    whether a public holiday). A retail date's key names the event and the days before it (its
    lift builds over ``EVENT_LEAD_DAYS``); a holiday's key is its name. A day that is both is the
    retail one. The forecasters measure each key's effect on the history and apply it ahead."""
    years = range(first.year, last.year + 2)
    days = {day: (name, True) for day, name in public_holidays(years, country).items()}
    for name, day in retail_event_days(years, country):
        for before in range(EVENT_LEAD_DAYS.get(name, 0) + 1):
            days[day - timedelta(days=before)] = (f"{name} -{before}d" if before else name, False)
    return {day: key for day, key in days.items() if first <= day <= last}
