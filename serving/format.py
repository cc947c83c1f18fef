"""How vitrine writes numbers and dates for Brazilian users (bot and dashboard): R$ 1.234,56, 87,5%, 31/10."""

from __future__ import annotations

from datetime import date

import pandas as pd

MONTHS = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
          "novembro", "dezembro")


UNKNOWN = "–"


def unknown(value: object) -> bool:
    """None, NaN and NaT: what a screen shows as "–", never as nan or None."""
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def number(value: float | None, digits: int = 0) -> str:
    """A dot for thousands and a comma for decimals: 1.234 and 12,5."""
    if unknown(value):
        return UNKNOWN
    text = f"{abs(float(value)):,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{'-' if float(value) < 0 and text.strip('0,.') else ''}{text}"


def money(value: float | None) -> str:
    """R$ with a dot for thousands and a comma for cents; "–" when unknown."""
    if unknown(value):
        return UNKNOWN
    text = number(abs(float(value)), 2)
    return f"{'-' if float(value) < 0 else ''}R$ {text}"


def money_short(value: float | None) -> str:
    """Money for a tile, short enough to fit five tiles across or a phone: R$ 339 mil, R$ 13,1 mil,
    R$ 1,2 mi, R$ 950,00 (three significant figures at most past a thousand)."""
    if unknown(value):
        return UNKNOWN
    size = abs(float(value))
    sign = "-" if float(value) < 0 else ""
    for from_size, scale, word in ((1e6, 1e6, "mi"), (1e4, 1e3, "mil")):  # R$ 9.999,50 still fits whole
        if size >= from_size:
            shown = size / scale
            return f"{sign}R$ {number(shown, 0 if shown >= 100 else 1)} {word}"
    return money(value)


def pct(value: float | None, digits: int = 1) -> str:
    if unknown(value):
        return UNKNOWN
    return number(value, digits) + "%"


def day(value: date | str | None) -> str:
    """dd/mm."""
    if unknown(value):
        return UNKNOWN
    value = date.fromisoformat(str(value)[:10]) if not isinstance(value, date) else value
    return f"{value:%d/%m}"


def span(start: date | str, end: date | str) -> str:
    """A run of days: "30/10", or "20/10 a 26/10"."""
    return day(start) if str(start) == str(end) else f"{day(start)} a {day(end)}"


def month_name(value: date | str) -> str:
    value = date.fromisoformat(str(value)[:10]) if not isinstance(value, date) else value
    return MONTHS[value.month - 1]


WEEKDAYS = ("seg", "ter", "qua", "qui", "sex", "sáb", "dom")


def weekday_day(value: date | str) -> str:
    """"sáb 01/11"."""
    value = date.fromisoformat(str(value)[:10]) if not isinstance(value, date) else value
    return f"{WEEKDAYS[value.weekday()]} {day(value)}"
