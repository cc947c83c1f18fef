"""A seller's (or a store team's) sales by day, week or month over everything the warehouse holds,
with the same period a year before, target attainment and commission, and the period in progress
projected to its end.

The days come from the published figures (every seller's sales per day, warehouse/figures.py)
plus the lines posted since (warehouse/live_sales.py), so today counts at once. Definitions, the
same for every grain so that days add up to weeks and months:

* sales: net of discounts and returns; tickets: sales tickets; average ticket: sales / tickets.
* target: the month's target spread evenly over its days (a week straddling two months takes its
  days from each); attainment: sales / that target.
* commission: each day's sales × the rate the seller's month reached (commission / sales of the
  month, by the rules gold.seller_month applies; the month in progress as seller_summary computes
  it, posted lines included), so a month's row is the month's commission exactly.
* a year before: the same weekdays 52 weeks earlier for days and weeks (a Saturday compares with a
  Saturday); the same month for months.
* projection: the period in progress at the pace so far (sales / days elapsed × days in period).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from serving.live_figures import LiveFigures, posted_lines
from warehouse import live_sales

Grain = Literal["day", "week", "month"]
DEFAULT_PERIODS: dict[str, int] = {"day": 30, "week": 13, "month": 12}  # shown when no start is given
MOST_PERIODS: dict[str, int] = {"day": 400, "week": 260, "month": 120}  # more is a coarser grain's job
WEEKS_A_YEAR = timedelta(days=364)
EARLIEST = date(1970, 1, 1)


class RangeError(ValueError):
    """A range the history cannot show (start after end, or too many periods for the grain)."""


def period_start(day: date, grain: Grain) -> date:
    """The first day of the period holding ``day`` (weeks start on Monday)."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def period_end(start: date, grain: Grain) -> date:
    """The last day of the period starting on ``start``."""
    if grain == "week":
        return start + timedelta(days=6)
    if grain == "month":
        return (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
    return start


def bounds(grain: Grain, start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The whole periods covering [start, end] (end: today at most; start: the default number of
    periods back), or RangeError."""
    for name, day in (("start", start), ("end", end)):
        if day is not None and day < EARLIEST:
            raise RangeError(f"{name}: {day:%d/%m/%Y} is before {EARLIEST:%d/%m/%Y}, older than any sale")
    end = min(end or today, today)
    last = period_start(end, grain)
    if start is None:
        first = last
        for _ in range(DEFAULT_PERIODS[grain] - 1):
            first = period_start(first - timedelta(days=1), grain)
    else:
        first = period_start(start, grain)
    if first > last:
        raise RangeError(f"start: {start:%d/%m/%Y} is after the end of the range ({end:%d/%m/%Y})")
    periods = {"day": (last - first).days + 1, "week": (last - first).days // 7 + 1,
               "month": (last.year - first.year) * 12 + last.month - first.month + 1}[grain]
    if periods > MOST_PERIODS[grain]:
        raise RangeError(f"{periods} periods of a {grain}: at most {MOST_PERIODS[grain]}; pick a shorter range "
                         "or a coarser grain")
    return first, period_end(last, grain)


def _keys(days: np.ndarray, grain: Grain) -> np.ndarray:
    """Each day's period start (``datetime64[D]`` in and out; 01/01/1970 was a Thursday)."""
    if grain == "week":
        return days - ((days.astype(np.int64) + 3) % 7).astype("timedelta64[D]")
    if grain == "month":
        return days.astype("datetime64[M]").astype("datetime64[D]")
    return days


def _rates(figures: LiveFigures, seller_ids: list[str], store_id: str | None, today: date
           ) -> tuple[dict[tuple[str, np.datetime64], float], dict[np.datetime64, float]]:
    """Each seller's commission rate per month ((seller, month) → commission / sales), and the
    team's target per month (the sum of its sellers' targets); the month in progress from the live
    summary, posted sales included."""
    published = figures.published
    this_month = np.datetime64(today.replace(day=1), "M")
    live = figures.team_summary(store_id) if store_id is not None else [figures.seller_summary(seller_ids[0])]
    rates, targets = {}, {}
    for seller in seller_ids:
        months = {m: v for m, v in published.seller_months.get(seller, {}).items() if m != this_month}
        for summary in live:
            if summary.seller_id == seller:
                months[this_month] = (summary.target, summary.sales_month, summary.commission_accrued)
        for month, (target, sales, commission) in months.items():
            rates[(seller, month)] = commission / sales if sales else published.rules.default_rate
            if target is not None and not np.isnan(target):
                targets[month] = targets.get(month, 0.0) + target
    return rates, targets


def _days(figures: LiveFigures, seller_ids: list[str], store_id: str | None, since: date, today: date
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each seller's days from ``since`` to today (day, revenue, tickets, the seller's position in
    ``seller_ids``): published, plus the lines posted since."""
    published = figures.published
    low, high = np.datetime64(since, "D"), np.datetime64(today, "D")
    parts = []
    for n, seller in enumerate(seller_ids):
        if seller in published.seller_days:
            dates, revenue, tickets = published.seller_days[seller]
            a, b = np.searchsorted(dates, low), np.searchsorted(dates, high, side="right")
            parts.append((dates[a:b], revenue[a:b], tickets[a:b], np.full(b - a, n)))
    posted = live_sales.lines_after(figures.settings, published.meta["live_upto"], seller_ids[0] if store_id is None else None,
                                    store_id, str(since))
    lines = [x for x in posted_lines(posted, published, today) if x.date >= since]
    if lines:
        parts.append((np.array([x.date for x in lines], dtype="datetime64[D]"), np.array([x.revenue for x in lines]),
                      np.array([x.tickets for x in lines]), np.array([seller_ids.index(x.seller_id) for x in lines])))
    if not parts:
        return np.empty(0, "datetime64[D]"), np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64)
    return tuple(np.concatenate(column) for column in zip(*parts))


def history(figures: LiveFigures, seller_ids: list[str], grain: Grain, start: date | None = None,
            end: date | None = None, store_id: str | None = None) -> dict:
    """The periods of [start, end] for one seller, or for a store's team (``store_id`` given, its
    sellers summed), newest last."""
    today = figures.today()
    first, last = bounds(grain, start, end, today)
    since = (pd.Timestamp(first) - pd.DateOffset(years=1)).date() - timedelta(days=7)
    dates, revenue, tickets, sellers = _days(figures, seller_ids, store_id, since, today)
    rates, month_targets = _rates(figures, seller_ids, store_id, today)
    months = dates.astype("datetime64[M]")
    default = figures.published.rules.default_rate
    pairs, which = np.unique(sellers * 1_000_000 + months.astype(np.int64), return_inverse=True)  # (seller, month)
    rate = np.array([rates.get((seller_ids[p // 1_000_000], np.datetime64(p % 1_000_000, "M")), default) for p in pairs.tolist()])
    commission = revenue * (rate[which] if len(pairs) else 0.0)

    calendar = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
    index = np.unique(_keys(calendar, grain))
    lo, hi = np.datetime64(first, "D"), np.datetime64(last, "D")
    now = (dates >= lo) & (dates <= hi)
    at = np.searchsorted(index, _keys(dates[now], grain))
    sums = {name: np.bincount(at, weights=values[now], minlength=len(index))
            for name, values in (("sales", revenue), ("tickets", tickets), ("commission", commission))}
    moved = (months + 12).astype("datetime64[D]") if grain == "month" else dates + WEEKS_A_YEAR.days
    before = (moved >= lo) & (moved <= hi)
    last_year = np.bincount(np.searchsorted(index, _keys(moved[before], grain)), weights=revenue[before],
                            minlength=len(index))
    calendar_months = calendar.astype("datetime64[M]")
    month_days = ((calendar_months + 1).astype("datetime64[D]") - calendar_months.astype("datetime64[D]")).astype(float)
    daily_target = np.array([month_targets.get(m, np.nan) for m in calendar_months]) / month_days
    at = np.searchsorted(index, _keys(calendar, grain))
    target = np.bincount(at, weights=np.nan_to_num(daily_target), minlength=len(index))
    has_target = np.bincount(at, weights=~np.isnan(daily_target), minlength=len(index)) > 0
    sold = [figures.published.seller_days[s][0] for s in seller_ids if s in figures.published.seller_days]
    starts = [days[0] for days in sold if len(days)]
    earliest = min(starts).astype(date) if starts else today  # a period a year before this: no comparison

    periods = []
    for n, key in enumerate(index.astype(date)):
        ends = period_end(key, grain)
        sales, count, earned = float(sums["sales"][n]), round(sums["tickets"][n]), float(sums["commission"][n])
        goal = float(target[n]) if has_target[n] else None
        year_before = key - WEEKS_A_YEAR if grain != "month" else key.replace(year=key.year - 1)
        ly = float(last_year[n]) if year_before >= earliest else None
        in_progress = ends > today
        scale = ((ends - key).days + 1) / ((today - key).days + 1) if in_progress else None
        periods.append({
            "start": key, "end": ends, "sales": round(sales, 2), "tickets": count,
            "avg_ticket": round(sales / count, 2) if count else None,
            "target": None if goal is None else round(goal, 2),
            "attainment_pct": round(sales / goal * 100, 1) if goal else None,
            "commission": round(earned, 2),
            "sales_last_year": None if ly is None else round(ly, 2),
            "change_pct": round((sales - ly) / ly * 100, 1) if ly else None,
            "in_progress": in_progress,
            "projected_sales": round(sales * scale, 2) if scale else None,
            "projected_commission": round(earned * scale, 2) if scale else None,
        })
    return {"grain": grain, "start": first, "end": last, "today": today,
            "data_through": figures.published.meta["data_through"], "periods": periods}
