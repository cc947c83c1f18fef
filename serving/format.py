"""How vitrine writes numbers and dates for Brazilian users (bot and dashboard): R$ 1.234,56, 87,5%, 31/10."""

from __future__ import annotations

from datetime import date

MONTHS = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
          "novembro", "dezembro")


def money(value: float | None) -> str:
    """R$ with a dot for thousands and a comma for cents; "–" when unknown."""
    if value is None:
        return "–"
    text = f"{abs(value):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{'-' if value < 0 else ''}R$ {text}"


def pct(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}".replace(".", ",") + "%"


def day(value: date | str | None) -> str:
    """dd/mm."""
    if value is None:
        return "–"
    value = date.fromisoformat(str(value)[:10]) if not isinstance(value, date) else value
    return f"{value:%d/%m}"


def month_name(value: date | str) -> str:
    value = date.fromisoformat(str(value)[:10]) if not isinstance(value, date) else value
    return MONTHS[value.month - 1]


WEEKDAYS = ("seg", "ter", "qua", "qui", "sex", "sáb", "dom")


def weekday_day(value: date | str) -> str:
    """"sáb 01/11"."""
    value = date.fromisoformat(str(value)[:10]) if not isinstance(value, date) else value
    return f"{WEEKDAYS[value.weekday()]} {day(value)}"
