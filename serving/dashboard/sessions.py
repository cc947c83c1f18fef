"""Dashboard sign-ins that survive a refresh.

Streamlit forgets a browser tab's state when the page reloads (F5), and it cannot set a cookie. So
signing in opens a session: a random id, put in the page's address (``?s=…``), and a row here that
maps the id's digest to the user's API token until it expires. Reloading the address finds the
session and signs the user in again; signing out, or the expiry, ends it. Only the digest of the id
is stored, so the file alone opens nothing; the token is stored as the bot stores its chats' tokens
(the home is private, 0700).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from warehouse.local_files import sqlite_database
from warehouse.settings import Settings

LIFETIME_S = 12 * 3600  # a working day: a session opened at the store's opening lasts until it closes
SCHEMA = "CREATE TABLE IF NOT EXISTS sessions (digest TEXT PRIMARY KEY, token TEXT NOT NULL, expires REAL NOT NULL);"


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(settings: Settings, token: str, lifetime_s: float = LIFETIME_S) -> str:
    """A new session for ``token``; returns its id (the value of ``?s=``). Expired sessions go."""
    session_id = secrets.token_urlsafe(24)
    now = time.time()
    with sqlite_database(settings.dashboard_db, SCHEMA, "NORMAL") as db:
        db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
        db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (_digest(session_id), token, now + lifetime_s))
    return session_id


def token_of(settings: Settings, session_id: str) -> str | None:
    """The token of a live session, or None (unknown, expired or closed)."""
    with sqlite_database(settings.dashboard_db, SCHEMA, "NORMAL") as db:
        row = db.execute("SELECT token FROM sessions WHERE digest = ? AND expires > ?",
                         (_digest(session_id), time.time())).fetchone()
    return row[0] if row else None


def close_session(settings: Settings, session_id: str) -> None:
    with sqlite_database(settings.dashboard_db, SCHEMA, "NORMAL") as db:
        db.execute("DELETE FROM sessions WHERE digest = ?", (_digest(session_id),))
