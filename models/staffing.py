"""The staffing plan: hourly traffic forecasts → sellers needed, peak windows, gaps vs the schedule.

Service time per ticket: point-of-sale data has no "service started" stamp, so the part of the
service time the data can tell is the basket: ``minutes_base + minutes_per_item × items per
ticket`` of the store (its recent mean); a store's own measured minutes can be configured instead
(``StaffingPolicy.service_minutes``). Sellers needed per hour come from the Erlang C queue
(models/queueing.py) on the planned traffic: P90 by default, since a service target is a promise
for the busy hours too; P50 for a leaner plan.

Sales at risk in an under-staffed hour: the forecast tickets × the share of customers who would
wait longer than the target with the scheduled sellers (Erlang C) × the store's mean ticket at
that hour. It is an upper bound: it counts every customer kept waiting as a sale that may walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.queueing import sellers_needed, wait_beyond

PLAN_COLUMNS = ["store_id", "date", "hour", "tickets_p10", "tickets_p50", "tickets_p90", "items_p50",
                "service_minutes", "sellers_needed", "scheduled", "gap", "sales_at_risk", "peak", "basis"]


@dataclass(frozen=True)
class StaffingPolicy:
    answer_within_minutes: float = 5.0  # the service target: ``target_share`` of customers attended within this
    target_share: float = 0.8
    max_utilisation: float = 0.85  # no seller busy more than this share of an hour
    minimum_sellers: int = 1  # in every open hour
    plan_on: str = "p90"  # which traffic quantile the plan covers: p50 | p90
    minutes_base: float = 4.0  # greeting, advice and payment of a ticket
    minutes_per_item: float = 1.5  # each further product shown and tried
    service_minutes: dict[str, float] = field(default_factory=dict)  # measured minutes per store, when known
    peak_share: float = 0.8  # an hour is in a peak window when its traffic is at least this share of the day's top

    def __post_init__(self) -> None:
        if self.plan_on not in ("p50", "p90"):
            raise ValueError(f"plan_on must be p50 or p90, not {self.plan_on!r}")
        if self.answer_within_minutes <= 0 or self.minimum_sellers < 0 or not 0 < self.peak_share <= 1:
            raise ValueError("answer_within_minutes must be > 0, minimum_sellers >= 0 and peak_share within (0, 1]")
        if not 0 < self.target_share < 1 or not 0 < self.max_utilisation <= 1:
            raise ValueError("target_share must be within (0, 1) and max_utilisation within (0, 1]")

    def minutes_for(self, store_id: str, items_per_ticket: float) -> float:
        """Service minutes per ticket at ``store_id``: configured, else from its basket size."""
        if store_id in self.service_minutes:
            return float(self.service_minutes[store_id])
        items = items_per_ticket if np.isfinite(items_per_ticket) and items_per_ticket > 0 else 1.0
        return self.minutes_base + self.minutes_per_item * items


@dataclass
class PlanContext:
    """What a plan needs besides the forecast: basket sizes, ticket values and the schedule."""

    items_per_ticket: dict[str, float]
    ticket_value: pd.DataFrame  # store_id, hour, ticket_value (mean revenue per ticket)
    on_duty: pd.DataFrame  # store_id, date, hour, scheduled: the last published weeks


def staffing_plan(forecast: pd.DataFrame, policy: StaffingPolicy, items_per_ticket: dict[str, float],
                  schedule: pd.DataFrame | None = None, ticket_value: pd.DataFrame | None = None) -> pd.DataFrame:
    """The hourly grid for the rows of ``forecast`` (store_id, date, hour, tickets_p10/p50/p90, items_p50
    and optionally ``basis``: what the forecast of the row rests on).

    ``schedule``: sellers scheduled per (store_id, date, hour) (``scheduled``); hours it does not
    cover have no gap. ``ticket_value``: mean revenue per ticket per (store_id, hour). A closed hour
    is simply not in ``forecast``: it needs no one.
    """
    grid = forecast.copy()
    grid["date"] = pd.to_datetime(grid["date"])
    if "basis" not in grid:
        grid["basis"] = "store"
    grid["service_minutes"] = [policy.minutes_for(s, items_per_ticket.get(s, np.nan)) for s in grid["store_id"]]
    planned = grid[f"tickets_{policy.plan_on}"].to_numpy(float)
    grid["sellers_needed"] = [
        sellers_needed(t, m, policy.answer_within_minutes, policy.target_share, policy.max_utilisation,
                       policy.minimum_sellers) for t, m in zip(planned, grid["service_minutes"])]
    if schedule is not None and len(schedule):
        on_duty = schedule.assign(date=pd.to_datetime(schedule["date"]))[["store_id", "date", "hour", "scheduled"]]
        grid = grid.merge(on_duty, on=["store_id", "date", "hour"], how="left")
    else:
        grid["scheduled"] = np.nan
    grid["gap"] = grid["scheduled"] - grid["sellers_needed"]
    if ticket_value is not None and len(ticket_value):
        grid = grid.merge(ticket_value[["store_id", "hour", "ticket_value"]], on=["store_id", "hour"], how="left")
    else:
        grid["ticket_value"] = np.nan
    waiting = [wait_beyond(int(c), t, m, policy.answer_within_minutes) if g < 0 else 0.0
               for c, t, m, g in zip(grid["scheduled"].fillna(0), grid["tickets_p50"], grid["service_minutes"],
                                     grid["gap"].fillna(0))]
    grid["sales_at_risk"] = (grid["tickets_p50"] * np.array(waiting) * grid["ticket_value"].fillna(0)).round(2)
    day_top = grid.groupby(["store_id", "date"])["tickets_p50"].transform("max")
    grid["peak"] = (grid["tickets_p50"] >= policy.peak_share * day_top) & (day_top > 0)
    return grid[PLAN_COLUMNS].sort_values(["store_id", "date", "hour"]).reset_index(drop=True)


def peak_windows(plan: pd.DataFrame) -> pd.DataFrame:
    """Each day's peak windows: runs of consecutive peak hours (store_id, date, start, end, tickets_p50),
    ``end`` exclusive (a window 12–14 covers 12:00 to 13:59)."""
    rows = []
    for (store, day), hours in plan[plan["peak"]].groupby(["store_id", "date"], sort=True):
        hours = hours.sort_values("hour")
        run = (hours["hour"].diff() != 1).cumsum()
        for _, window in hours.groupby(run):
            rows.append({"store_id": store, "date": day, "start": int(window["hour"].min()),
                         "end": int(window["hour"].max()) + 1, "tickets_p50": float(window["tickets_p50"].sum())})
    return pd.DataFrame(rows, columns=["store_id", "date", "start", "end", "tickets_p50"])


def scheduled_sellers(shifts: pd.DataFrame) -> pd.DataFrame:
    """Sellers on duty per (store_id, date, hour) from shifts (store_id, seller_id, shift_start,
    shift_end): a seller counts in an hour their shift covers for at least half of it."""
    if shifts.empty:
        return pd.DataFrame(columns=["store_id", "date", "hour", "scheduled"])
    start = pd.to_datetime(shifts["shift_start"]).to_numpy()
    end = pd.to_datetime(shifts["shift_end"]).to_numpy()
    hour = np.timedelta64(1, "h")
    first_slot = start.astype("datetime64[h]")
    slots_per_shift = np.maximum(((end - first_slot) / hour).astype(float), 0)
    slots_per_shift = np.ceil(slots_per_shift).astype(int)
    row = np.repeat(np.arange(len(shifts)), slots_per_shift)
    slot = first_slot[row] + np.concatenate([np.arange(n) for n in slots_per_shift]).astype("timedelta64[h]")
    overlap = np.minimum(end[row], slot + hour) - np.maximum(start[row], slot)
    kept = overlap >= np.timedelta64(30, "m")
    covered = pd.DataFrame({"store_id": shifts["store_id"].to_numpy()[row][kept], "slot": pd.to_datetime(slot[kept])})
    out = covered.groupby(["store_id", "slot"]).size().rename("scheduled").reset_index()
    out["date"], out["hour"] = out["slot"].dt.normalize(), out["slot"].dt.hour
    return out[["store_id", "date", "hour", "scheduled"]]


def schedule_for(on_duty: pd.DataFrame, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Sellers on duty for ``days``: the published schedule where it covers a store's day, else the
    same weekday of the store's last published week (``repeated_from`` says which day)."""
    if on_duty.empty:
        return pd.DataFrame(columns=["store_id", "date", "hour", "scheduled", "repeated_from"])
    on_duty = on_duty.assign(date=pd.to_datetime(on_duty["date"]))
    parts = []
    for store, rows in on_duty.groupby("store_id"):
        published = set(rows["date"])
        last = max(published)
        for day in days:
            source = day if day in published else last - pd.Timedelta(days=(last - day).days % 7)
            if source not in published:
                continue
            part = rows[rows["date"] == source].assign(date=day, repeated_from=None if source == day else source)
            parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["store_id", "date", "hour", "scheduled", "repeated_from"])
    return pd.concat(parts, ignore_index=True)[["store_id", "date", "hour", "scheduled", "repeated_from"]]
