"""The bot's memory: which chat acts for which user (with that chat's own API token), what each
user silenced, and which pushes went out. SQLite under ``VITRINE_HOME/bot`` (mode 600: it holds
tokens, which the bot needs to call the service as the user and never shows)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime

from warehouse.local_files import sqlite_database
from warehouse.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    chat_id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    store_id TEXT,
    seller_id TEXT,
    token TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    mute_report INTEGER NOT NULL DEFAULT 0,
    mute_stock INTEGER NOT NULL DEFAULT 0,
    last_report TEXT
);
CREATE TABLE IF NOT EXISTS stock_pushed (
    chat_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (chat_id, sku)
);
CREATE TABLE IF NOT EXISTS alerts_delivered (
    chat_id INTEGER PRIMARY KEY,
    last_alert_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS promotions_pushed (
    chat_id INTEGER NOT NULL,
    promo_id TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (chat_id, promo_id)
);
CREATE TABLE IF NOT EXISTS reports_pushed (
    chat_id INTEGER NOT NULL,
    report_key TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (chat_id, report_key)
);
CREATE TABLE IF NOT EXISTS refusals_pushed (
    chat_id INTEGER NOT NULL,
    refusal_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (chat_id, refusal_id)
);
"""
PUSHES = {"manager": ("relatorio", "estoque"), "seller": ("promocoes",)}  # what /silenciar can silence, by role
MUTE_COLUMNS = {"relatorio": "mute_report", "estoque": "mute_stock", "promocoes": "mute_promotions"}


@dataclass(frozen=True)
class Chat:
    chat_id: int
    user_id: int
    name: str
    role: str
    store_id: str | None
    seller_id: str | None
    token: str
    mute_report: bool
    mute_stock: bool
    last_report: str | None
    linked_at: str
    mute_promotions: bool


class Chats:
    def __init__(self, settings: Settings) -> None:
        self.path = settings.bot_dir / "bot.db"
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._db() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(chats)")}
            if "mute_promotions" not in columns:  # a bot.db from before promotion pushes
                db.execute("ALTER TABLE chats ADD COLUMN mute_promotions INTEGER NOT NULL DEFAULT 0")
        os.chmod(self.path, 0o600)

    def _db(self):
        return sqlite_database(self.path, SCHEMA, "FULL")

    def link(self, chat_id: int, user: dict, token: str) -> Chat:
        """Tie the chat to ``user`` (the service's LinkedUser), replacing an earlier link."""
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO chats (chat_id, user_id, name, role, store_id, seller_id, token, linked_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (chat_id, user["user_id"], user["name"], user["role"],
                                                           user["store_id"], user["seller_id"], token, _now()))
            db.execute("DELETE FROM stock_pushed WHERE chat_id = ?", (chat_id,))
            db.execute("DELETE FROM alerts_delivered WHERE chat_id = ?", (chat_id,))
        return self.get(chat_id)

    def get(self, chat_id: int) -> Chat | None:
        with self._db() as db:
            row = db.execute(f"SELECT {_FIELDS} FROM chats WHERE chat_id = ?", (chat_id,)).fetchone()
        return Chat(*row) if row else None

    def unlink(self, chat_id: int) -> None:
        with self._db() as db:
            db.execute("DELETE FROM chats WHERE chat_id = ?", (chat_id,))

    def managers(self) -> list[Chat]:
        return self._with_roles("manager")

    def sellers(self) -> list[Chat]:
        return self._with_roles("seller")

    def people(self) -> list[Chat]:
        """Every linked chat of a seller or a manager: whom the live alerts go to."""
        return self._with_roles("seller", "manager")

    def _with_roles(self, *roles: str) -> list[Chat]:
        with self._db() as db:
            rows = db.execute(f"SELECT {_FIELDS} FROM chats WHERE role IN ({', '.join('?' * len(roles))}) ORDER BY chat_id",
                              roles).fetchall()
        return [Chat(*row) for row in rows]

    def last_alert(self, chat_id: int) -> int:
        """The last alert Telegram accepted for the chat (0: none yet)."""
        with self._db() as db:
            row = db.execute("SELECT last_alert_id FROM alerts_delivered WHERE chat_id = ?", (chat_id,)).fetchone()
        return row[0] if row else 0

    def alert_delivered(self, chat_id: int, alert_id: int) -> None:
        with self._db() as db:
            db.execute("INSERT INTO alerts_delivered VALUES (?, ?) ON CONFLICT (chat_id) DO UPDATE SET "
                       "last_alert_id = max(last_alert_id, excluded.last_alert_id)", (chat_id, alert_id))

    def mute(self, chat_id: int, push: str, muted: bool) -> None:
        column = MUTE_COLUMNS[push]
        with self._db() as db:
            db.execute(f"UPDATE chats SET {column} = ? WHERE chat_id = ?", (int(muted), chat_id))

    def report_sent(self, chat_id: int, day: date) -> None:
        with self._db() as db:
            db.execute("UPDATE chats SET last_report = ? WHERE chat_id = ?", (day.isoformat(), chat_id))

    def not_pushed(self, table: str, chat_id: int, keys: list) -> list:
        """Those of ``keys`` not pushed to the chat before (``table``: one of ``PUSHED``, each keyed
        by what it names); :meth:`pushed` records them once Telegram has them."""
        with self._db() as db:
            known = {r[0] for r in db.execute(f"SELECT {PUSHED[table]} FROM {table} WHERE chat_id = ?", (chat_id,))}
        return [k for k in keys if k not in known]

    def pushed(self, table: str, chat_id: int, keys: list) -> None:
        with self._db() as db:
            db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?, ?, ?)", [(chat_id, k, _now()) for k in keys])


PUSHED = {"stock_pushed": "sku", "refusals_pushed": "refusal_id", "promotions_pushed": "promo_id",  # what is recorded
          "reports_pushed": "report_key"}
_FIELDS = ("chat_id, user_id, name, role, store_id, seller_id, token, mute_report, mute_stock, last_report, linked_at, "
           "mute_promotions")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

