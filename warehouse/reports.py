"""The reports a store's manager shapes without support: which figures, over which period, for whom,
and how often the bot sends them. Kept beside the alerts (warehouse/alerts.py); the figures are the
sales history's (serving/sales_history.py), so a report says what the history says.

* metrics: any of ``METRICS``, in the order given;
* grain: the day, week or month holding yesterday (a daily report sent in the morning is about
  yesterday; a weekly one on Monday about last week; a monthly one on the 1st about last month);
* audience: ``self`` (the manager), ``team`` (everyone linked of the store gets the team's table)
  or ``each_seller`` (each seller gets their own line; the manager the whole table);
* schedule: ``daily``, ``weekly`` (Mondays), ``monthly`` (the 1st) or ``none`` (on demand), at
  the bot's report time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime

from warehouse.alerts import database
from warehouse.settings import Settings

METRICS = ("sales", "tickets", "avg_ticket", "target", "attainment_pct", "commission", "sales_last_year",
           "change_pct", "projected_sales")
GRAINS = ("day", "week", "month")
AUDIENCES = ("self", "team", "each_seller")
SCHEDULES = ("daily", "weekly", "monthly", "none")


class ReportError(ValueError):
    """A definition the reports cannot take; the message names the field."""


@dataclass(frozen=True)
class Report:
    name: str
    metrics: tuple[str, ...]
    grain: str = "day"
    audience: str = "self"
    schedule: str = "daily"
    report_id: int | None = None
    store_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(self.metrics))  # a list from JSON or a request reads the same

    def checked(self) -> Report:
        if not 1 <= len(self.name.strip()) <= 60:
            raise ReportError("name: 1 to 60 characters")
        unknown = [m for m in self.metrics if m not in METRICS]
        if not self.metrics or unknown or len(set(self.metrics)) != len(self.metrics):
            raise ReportError(f"metrics: one or more of {', '.join(METRICS)}, each once"
                              + (f" ({unknown[0]!r} is not one)" if unknown else ""))
        for name, allowed in (("grain", GRAINS), ("audience", AUDIENCES), ("schedule", SCHEDULES)):
            if getattr(self, name) not in allowed:
                raise ReportError(f"{name}: {getattr(self, name)!r} is not one of {', '.join(allowed)}")
        return self

    def due(self, today: date) -> bool:
        """Whether its schedule sends it on ``today``."""
        return due(self.schedule, today)


def due(schedule: str, today: date) -> bool:
    """Whether ``schedule`` sends a report on ``today`` (daily; Mondays; the 1st; never)."""
    return {"daily": True, "weekly": today.weekday() == 0, "monthly": today.day == 1, "none": False}[schedule]


def save(settings: Settings, store_id: str, report: Report, by: str) -> Report:
    """Store a new report (``report_id`` None) or replace one of the store's; ReportError when the
    definition is not valid or the id is not the store's."""
    report = report.checked()
    body = json.dumps({k: v for k, v in asdict(report).items() if k not in ("report_id", "store_id")})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with database(settings) as db:
        if report.report_id is None:
            cursor = db.execute("INSERT INTO reports (store_id, definition, created_by, changed_at) VALUES (?, ?, ?, ?)",
                                (store_id, body, by, now))
            report_id = cursor.lastrowid
        else:
            cursor = db.execute("UPDATE reports SET definition = ?, changed_at = ? WHERE report_id = ? AND store_id = ?",
                                (body, now, report.report_id, store_id))
            if cursor.rowcount == 0:
                raise ReportError(f"report_id: no report {report.report_id} at store {store_id}")
            report_id = report.report_id
    return replace(report, report_id=report_id, store_id=store_id)


def delete(settings: Settings, store_id: str, report_id: int) -> bool:
    with database(settings) as db:
        return db.execute("DELETE FROM reports WHERE report_id = ? AND store_id = ?", (report_id, store_id)).rowcount == 1


def of_store(settings: Settings, store_id: str) -> list[Report]:
    """The store's reports, oldest first."""
    with database(settings) as db:
        rows = db.execute("SELECT report_id, definition FROM reports WHERE store_id = ? ORDER BY report_id",
                          (store_id,)).fetchall()
    return [Report(**json.loads(body), report_id=rid, store_id=store_id) for rid, body in rows]
