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

Every creation, change and deletion is audited (who, when, the definition before and after), in the
same transaction as the report itself, as the alert rules' changes are.
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
    """Store a new report (``report_id`` None) or replace one of the store's; ReportError (nothing
    stored) when the definition is not valid or the id is not the store's."""
    report = report.checked()
    body = json.dumps({k: v for k, v in asdict(report).items() if k not in ("report_id", "store_id")})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with database(settings) as db:
        db.execute("BEGIN IMMEDIATE")
        if report.report_id is None:
            cursor = db.execute("INSERT INTO reports (store_id, definition, created_by, changed_at) VALUES (?, ?, ?, ?)",
                                (store_id, body, by, now))
            report_id, before = cursor.lastrowid, None
        else:
            row = db.execute("SELECT definition FROM reports WHERE report_id = ? AND store_id = ?",
                             (report.report_id, store_id)).fetchone()
            if row is None:
                raise ReportError(f"report_id: no report {report.report_id} at store {store_id}")
            db.execute("UPDATE reports SET definition = ?, changed_at = ? WHERE report_id = ?",
                       (body, now, report.report_id))
            report_id, before = report.report_id, row[0]
        if before != body:
            _audit(db, store_id, report_id, by, now, "created" if before is None else "changed", before, body)
        db.execute("COMMIT")
    return replace(report, report_id=report_id, store_id=store_id)


def delete(settings: Settings, store_id: str, report_id: int, by: str) -> bool:
    """Remove one of the store's reports; False when it has no such report."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with database(settings) as db:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("SELECT definition FROM reports WHERE report_id = ? AND store_id = ?",
                         (report_id, store_id)).fetchone()
        if row is not None:
            db.execute("DELETE FROM reports WHERE report_id = ?", (report_id,))
            _audit(db, store_id, report_id, by, now, "deleted", row[0], None)
        db.execute("COMMIT")
    return row is not None


def _audit(db, store_id: str, report_id: int, by: str, at: str, action: str, old: str | None, new: str | None) -> None:
    db.execute("INSERT INTO report_changes (store_id, report_id, changed_by, changed_at, action, old, new) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)", (store_id, report_id, by, at, action, old, new))


def changes_of(settings: Settings, store_id: str, limit: int = 20) -> list[dict]:
    """The store's latest report changes, newest first: who, when, which report, what it was and became."""
    with database(settings) as db:
        rows = db.execute("SELECT report_id, changed_by, changed_at, action, old, new FROM report_changes "
                          "WHERE store_id = ? ORDER BY change_id DESC LIMIT ?", (store_id, limit)).fetchall()
    return [{"report_id": r[0], "changed_by": r[1], "changed_at": r[2], "action": r[3],
             "old": json.loads(r[4]) if r[4] else None, "new": json.loads(r[5]) if r[5] else None} for r in rows]


def of_store(settings: Settings, store_id: str) -> list[Report]:
    """The store's reports, oldest first."""
    with database(settings) as db:
        rows = db.execute("SELECT report_id, definition FROM reports WHERE store_id = ? ORDER BY report_id",
                          (store_id,)).fetchall()
    return [Report(**json.loads(body), report_id=rid, store_id=store_id) for rid, body in rows]
