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


def _keys(dates: pd.Series, grain: Grain) -> pd.Series:
    """Each date's period start, as datetime64."""
    if grain == "week":
        return dates - pd.to_timedelta(dates.dt.weekday, unit="D")
    if grain == "month":
        return dates.dt.to_period("M").dt.start_time
    return dates


def _months(figures: LiveFigures, seller_ids: list[str], store_id: str | None, today: date) -> pd.DataFrame:
    """Each seller's months: target and commission rate; the month in progress from the live summary."""
    published = figures.published
    closed = [published.seller_months[s] for s in seller_ids if s in published.seller_months]
    months = pd.concat(closed) if closed else pd.DataFrame(columns=["seller_id", "month", "sales", "target", "commission"])
    this_month = pd.Timestamp(today.replace(day=1))
    months = months[months["month"] != this_month]
    live = figures.team_summary(store_id) if store_id is not None else [figures.seller_summary(seller_ids[0])]
    current = pd.DataFrame({"seller_id": [x.seller_id for x in live], "month": this_month,
                            "sales": [x.sales_month for x in live], "target": [x.target for x in live],
                            "commission": [x.commission_accrued for x in live]})
    months = pd.concat([months.astype({"target": float}), current.astype({"target": float})], ignore_index=True)
    rate = months["commission"] / months["sales"].where(months["sales"] != 0)
    return months.assign(rate=rate.fillna(published.rules.default_rate))


def _days(figures: LiveFigures, seller_ids: list[str], store_id: str | None, since: date, today: date) -> pd.DataFrame:
    """Each seller's days from ``since`` to today: published, plus the lines posted since."""
    published = figures.published
    frames = [d[d["date"] >= pd.Timestamp(since)] for s in seller_ids if (d := published.seller_days.get(s)) is not None]
    posted = live_sales.lines_after(figures.settings, published.meta["live_upto"], seller_ids[0] if store_id is None else None,
                                    store_id, str(since))
    lines = posted_lines(posted, published, today)
    if lines:
        frames.append(pd.DataFrame({"seller_id": [x.seller_id for x in lines], "date": pd.to_datetime([x.date for x in lines]),
                                    "revenue": [x.revenue for x in lines], "tickets": [x.tickets for x in lines]}))
    if not frames:
        return pd.DataFrame({"seller_id": pd.Series(dtype=str), "date": pd.Series(dtype="datetime64[ns]"),
                             "revenue": pd.Series(dtype=float), "tickets": pd.Series(dtype=int)})
    days = pd.concat(frames, ignore_index=True)
    return days[days["date"] <= pd.Timestamp(today)]


def _last_year(days: pd.DataFrame, grain: Grain) -> pd.DataFrame:
    """The days moved forward a year (52 weeks for days and weeks), to line up with this year's periods."""
    if grain == "month":
        return days.assign(date=days["date"] + pd.DateOffset(years=1))
    return days.assign(date=days["date"] + WEEKS_A_YEAR)


def history(figures: LiveFigures, seller_ids: list[str], grain: Grain, start: date | None = None,
            end: date | None = None, store_id: str | None = None) -> dict:
    """The periods of [start, end] for one seller, or for a store's team (``store_id`` given, its
    sellers summed), newest last."""
    today = figures.today()
    first, last = bounds(grain, start, end, today)
    since = (pd.Timestamp(first) - pd.DateOffset(years=1) - pd.Timedelta(days=7)).date()
    days = _days(figures, seller_ids, store_id, since, today)
    months = _months(figures, seller_ids, store_id, today)
    rate = months.set_index(["seller_id", "month"])["rate"]
    month_of = days["date"].dt.to_period("M").dt.start_time
    day_rate = rate.reindex(pd.MultiIndex.from_arrays([days["seller_id"], month_of])).to_numpy()
    days = days.assign(commission=days["revenue"] * np.nan_to_num(day_rate, nan=figures.published.rules.default_rate))

    index = pd.DatetimeIndex(sorted(set(_keys(pd.Series(pd.date_range(first, last)), grain))))
    this_year = days[(days["date"] >= pd.Timestamp(first)) & (days["date"] <= pd.Timestamp(last))]
    sums = this_year.groupby(_keys(this_year["date"], grain))[["revenue", "tickets", "commission"]].sum()
    sums = sums.reindex(index, fill_value=0)
    before = _last_year(days, grain)
    before = before[(before["date"] >= pd.Timestamp(first)) & (before["date"] <= pd.Timestamp(last))]
    starts = [d["date"].iloc[0] for s in seller_ids if len(d := figures.published.seller_days.get(s, ())) > 0]
    earliest = min(starts).date() if starts else today  # a period a year before this: no comparison
    last_year = before.groupby(_keys(before["date"], grain))["revenue"].sum().reindex(index, fill_value=0)

    calendar = pd.Series(pd.date_range(first, last))
    month_target = months.groupby("month")["target"].sum(min_count=1)
    daily_target = calendar.dt.to_period("M").dt.start_time.map(month_target) / calendar.dt.days_in_month
    target = daily_target.groupby(_keys(calendar, grain).to_numpy()).sum(min_count=1).reindex(index)

    periods = []
    for key, row in sums.iterrows():
        begins = key.date()
        ends = period_end(begins, grain)
        sales, tickets = float(row["revenue"]), int(row["tickets"])
        goal = None if pd.isna(target[key]) else float(target[key])
        year_before = begins - WEEKS_A_YEAR if grain != "month" else begins.replace(year=begins.year - 1)
        ly = float(last_year[key]) if year_before >= earliest else None
        in_progress = ends > today
        scale = ((ends - begins).days + 1) / ((today - begins).days + 1) if in_progress else None
        periods.append({
            "start": begins, "end": ends, "sales": round(sales, 2), "tickets": tickets,
            "avg_ticket": round(sales / tickets, 2) if tickets else None,
            "target": None if goal is None else round(goal, 2),
            "attainment_pct": round(sales / goal * 100, 1) if goal else None,
            "commission": round(float(row["commission"]), 2),
            "sales_last_year": None if ly is None else round(ly, 2),
            "change_pct": round((sales - ly) / ly * 100, 1) if ly else None,
            "in_progress": in_progress,
            "projected_sales": round(sales * scale, 2) if scale else None,
            "projected_commission": round(float(row["commission"]) * scale, 2) if scale else None,
        })
    return {"grain": grain, "start": first, "end": last, "today": today,
            "data_through": figures.published.meta["data_through"], "periods": periods}
