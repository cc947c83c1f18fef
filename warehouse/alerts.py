"""Alerts raised on the live path: stored once each, listed to the people they concern.

The service raises an alert when a posted sale makes something worth telling happen (a seller or
the team reaching a target milestone: serving/live_alerts.py). Each alert has a key that says what
happened (``milestone:V0010:2026-11:100``), so raising it again (a replayed sale, a second
service worker) stores nothing: every alert exists once. The bot fetches the new ones through the
``alerts`` endpoint and records, per chat, the last one Telegram accepted, so a failed send is
retried and nothing is lost. SQLite beside the live sales (several processes may open it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from warehouse.local_files import sqlite_database
from warehouse.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    store_id TEXT NOT NULL,
    seller_id TEXT,
    raised_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_store ON alerts (store_id, alert_id);
CREATE TABLE IF NOT EXISTS alert_rules (
    store_id TEXT PRIMARY KEY,
    rules TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    report_id INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_rule_changes (
    change_id INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    field TEXT NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS report_changes (
    change_id INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id TEXT NOT NULL,
    report_id INTEGER NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    action TEXT NOT NULL,
    old TEXT,
    new TEXT
);
"""
COLUMNS = "alert_id, kind, store_id, seller_id, raised_at, data"


def database(settings: Settings):
    """The alerts database: the alerts, each store's rules with their changes (warehouse/alert_rules.py),
    and the reports its managers shaped with theirs (warehouse/reports.py)."""
    return sqlite_database(settings.alerts_db, SCHEMA, "FULL")


def raise_alert(settings: Settings, key: str, kind: str, store_id: str, seller_id: str | None, data: dict) -> bool:
    """Store the alert unless one with ``key`` exists; True when it is new."""
    with database(settings) as db:
        cursor = db.execute("INSERT OR IGNORE INTO alerts (key, kind, store_id, seller_id, raised_at, data) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (key, kind, store_id, seller_id, datetime.now(UTC).isoformat(timespec="milliseconds"),
                             json.dumps(data, ensure_ascii=False)))
        return cursor.rowcount == 1


def listed(settings: Settings, store_id: str | None, seller_id: str | None, after_id: int, limit: int,
           newest_first: bool = False) -> list[dict]:
    """Alerts after ``after_id``, oldest first (what a pusher walks through) or newest first (what a
    screen shows): a store's (``store_id``), narrowed to what one seller may see (``seller_id``:
    their own and the team's), or every store's (both None)."""
    where, parameters = ["alert_id > ?"], [after_id]
    if store_id is not None:
        where.append("store_id = ?")
        parameters.append(store_id)
    if seller_id is not None:
        where.append("(seller_id = ? OR seller_id IS NULL)")
        parameters.append(seller_id)
    with database(settings) as db:
        rows = db.execute(f"SELECT {COLUMNS} FROM alerts WHERE {' AND '.join(where)} ORDER BY alert_id {'DESC' if newest_first else ''} LIMIT ?",
                          [*parameters, limit]).fetchall()
    return [{"alert_id": r[0], "kind": r[1], "store_id": r[2], "seller_id": r[3], "raised_at": r[4],
             **json.loads(r[5])} for r in rows]
