"""Who may ask the service what: users, their tokens (stored hashed), revocation and the audit trail.

A small SQLite database under VITRINE_HOME (``service.db``): the service and the CLI both open it
(SQLite handles several processes, unlike the embedded warehouse), so ``vitrine users add`` works
while the service runs. A token is 32 random bytes shown once; only its SHA-256 is stored (a
random token needs no slow hash: there is nothing to guess). Roles:

- ``seller``: their own figures and the cross-sell of their store;
- ``manager``: everything about their store;
- ``analyst``: everything, read-only;
- ``admin``: everything, and the admin calls (reload the models).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.local_files import sqlite_database
from pipelines.settings import Settings

ROLES = ("seller", "manager", "analyst", "admin")
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    store_id TEXT,
    seller_id TEXT,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    at TEXT NOT NULL,
    user_id INTEGER,
    role TEXT,
    endpoint TEXT NOT NULL,
    request TEXT NOT NULL,
    status INTEGER NOT NULL
);
"""


class AuthError(ValueError):
    """A user cannot be created or changed as asked."""


@dataclass(frozen=True)
class User:
    user_id: int
    name: str
    role: str
    store_id: str | None
    seller_id: str | None

    def may_see_store(self, store_id: str) -> bool:
        return self.role in ("analyst", "admin") or self.store_id == store_id

    def may_see_seller(self, seller_id: str, seller_store: str | None) -> bool:
        if self.role in ("analyst", "admin"):
            return True
        if self.role == "manager":
            return seller_store is not None and seller_store == self.store_id
        return self.seller_id == seller_id


def database(settings: Settings) -> Path:
    return settings.home.resolve() / "service.db"


def _connect(settings: Settings):
    # NORMAL: an audit row may be lost to a power cut, not to a crash; it spares a disk flush per request
    return sqlite_database(database(settings), SCHEMA, "NORMAL")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def add_user(settings: Settings, name: str, role: str, store_id: str | None = None, seller_id: str | None = None
             ) -> tuple[User, str]:
    """Create a user; returns it and its token (shown once, never stored in the clear)."""
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role in ("seller", "manager") and not store_id:
        raise AuthError(f"a {role} needs --store")
    if role == "seller" and not seller_id:
        raise AuthError("a seller needs --seller (their seller id)")
    if not name.strip():
        raise AuthError("the name must not be empty")
    token = secrets.token_urlsafe(32)
    with _connect(settings) as db:
        cursor = db.execute("INSERT INTO users (name, role, store_id, seller_id, token_sha256, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?)", (name.strip(), role, store_id, seller_id, _digest(token), _now()))
        user = User(int(cursor.lastrowid), name.strip(), role, store_id, seller_id)
    return user, token


def authenticate(settings: Settings, token: str | None) -> User | None:
    """The active user holding ``token``, or None (unknown or revoked)."""
    if not token:
        return None
    with _connect(settings) as db:
        row = db.execute("SELECT user_id, name, role, store_id, seller_id FROM users "
                         "WHERE token_sha256 = ? AND revoked_at IS NULL", (_digest(token),)).fetchone()
    return User(*row) if row else None


def revoke(settings: Settings, user_id: int) -> None:
    with _connect(settings) as db:
        changed = db.execute("UPDATE users SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                             (_now(), user_id)).rowcount
    if not changed:
        raise AuthError(f"no active user {user_id}")


def users(settings: Settings) -> list[dict]:
    """Every user, newest first, without token hashes."""
    with _connect(settings) as db:
        rows = db.execute("SELECT user_id, name, role, store_id, seller_id, created_at, revoked_at FROM users "
                          "ORDER BY user_id DESC").fetchall()
    keys = ("user_id", "name", "role", "store_id", "seller_id", "created_at", "revoked_at")
    return [dict(zip(keys, row)) for row in rows]


def record(settings: Settings, user: User | None, endpoint: str, request: dict, status: int) -> None:
    """One audit row: who asked what, when, and how it ended (the request never holds a token)."""
    with _connect(settings) as db:
        db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)",
                   (_now(), user.user_id if user else None, user.role if user else None, endpoint,
                    json.dumps(request, default=str, ensure_ascii=False), status))


def audit_rows(settings: Settings, limit: int = 100) -> list[dict]:
    with _connect(settings) as db:
        rows = db.execute("SELECT at, user_id, role, endpoint, request, status FROM audit ORDER BY rowid DESC LIMIT ?",
                          (limit,)).fetchall()
    return [dict(zip(("at", "user_id", "role", "endpoint", "request", "status"), row)) for row in rows]
