"""Who may ask the service what: users, their tokens (stored hashed), revocation and the audit trail.

A small SQLite database under VITRINE_HOME (``service.db``): the service and the CLI both open it
(SQLite handles several processes, unlike the embedded warehouse), so ``vitrine users add`` works
while the service runs. A token is 32 random bytes shown once; only its SHA-256 is stored (a
random token needs no slow hash: there is nothing to guess). A user may hold further tokens, one
per linked chat of the bot: a manager issues a one-time link code (``vitrine users link`` or the
``link_code`` call), the chat redeems it for its own token, and revoking the user ends them all.
Roles:

- ``seller``: their own figures and the cross-sell of their store;
- ``manager``: everything about their store;
- ``analyst``: everything, read-only;
- ``admin``: everything, and the admin calls (reload the models);
- ``pos``: a store's point of sale, a service account: posts that store's sales (nobody else may:
  a seller who could post would set their own sales and commission), looks products up and asks
  for the cross-sell of the basket being rung up.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from warehouse.local_files import sqlite_database
from warehouse.settings import Settings

ROLES = ("seller", "manager", "analyst", "admin", "pos")
PEOPLE = ("seller", "manager", "analyst", "admin")  # every role but the point of sale
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
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (user_id),
    label TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS link_codes (
    code_sha256 TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (user_id),
    issued_by INTEGER,
    expires_at TEXT NOT NULL,
    used_at TEXT
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


def _connect(settings: Settings):
    # NORMAL: an audit row may be lost to a power cut, not to a crash; it spares a disk flush per request
    return sqlite_database(settings.service_db, SCHEMA, "NORMAL")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def add_user(settings: Settings, name: str, role: str, store_id: str | None = None, seller_id: str | None = None
             ) -> tuple[User, str]:
    """Create a user; returns it and its token (shown once, never stored in the clear)."""
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role in ("seller", "manager", "pos") and not store_id:
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
    """The active user holding ``token`` (their own or a linked chat's), or None (unknown or revoked)."""
    if not token:
        return None
    digest = _digest(token)
    with _connect(settings) as db:
        row = db.execute("SELECT user_id, name, role, store_id, seller_id FROM users WHERE revoked_at IS NULL AND "
                         "(token_sha256 = ? OR user_id = (SELECT user_id FROM tokens WHERE token_sha256 = ?))",
                         (digest, digest)).fetchone()
    return User(*row) if row else None


def user(settings: Settings, user_id: int) -> User:
    """The active user ``user_id``; AuthError when there is none."""
    with _connect(settings) as db:
        row = db.execute("SELECT user_id, name, role, store_id, seller_id FROM users "
                         "WHERE user_id = ? AND revoked_at IS NULL", (user_id,)).fetchone()
    if row is None:
        raise AuthError(f"no active user {user_id}")
    return User(*row)


CODE_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I/L to misread on a phone
CODE_LENGTH = 8  # 31^8 ≈ 8.5e11: with expiry, single use and the bot's rate limit, not guessable


def issue_link_code(settings: Settings, user_id: int, issued_by: User | None, minutes: int = 24 * 60
                    ) -> tuple[str, datetime]:
    """A one-time code that links a chat to ``user_id`` (``issued_by``: None for the CLI, else a
    manager of the user's store or an admin); returns the code and when it expires."""
    target = user(settings, user_id)
    if issued_by is not None and issued_by.role != "admin" and not (
            issued_by.role == "manager" and target.store_id == issued_by.store_id and target.role in ("seller", "manager")):
        raise PermissionError(f"user {user_id} is not yours to link")
    if not 1 <= minutes <= 7 * 24 * 60:
        raise AuthError("a code lives between 1 minute and 7 days")
    code = "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    with _connect(settings) as db:
        db.execute("INSERT INTO link_codes VALUES (?, ?, ?, ?, NULL)",
                   (_digest(code), user_id, issued_by.user_id if issued_by else None, expires.isoformat(timespec="seconds")))
    return code, expires


def redeem_link_code(settings: Settings, code: str, label: str) -> tuple[User, str]:
    """Spend a link code: a new token for its user (for the chat ``label``). AuthError when the code
    is unknown, used or expired, all alike, so a guesser learns nothing."""
    now = _now()
    token = secrets.token_urlsafe(32)
    with _connect(settings) as db:
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("UPDATE link_codes SET used_at = ? WHERE code_sha256 = ? AND used_at IS NULL AND expires_at > ? "
                         "RETURNING user_id", (now, _digest(code.strip().upper()), now)).fetchone()
        if row is None:
            db.execute("ROLLBACK")
            raise AuthError("invalid, used or expired code")
        db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?)", (_digest(token), row[0], label, now))
        db.execute("COMMIT")
    return user(settings, row[0]), token


def add_token(settings: Settings, user_id: int, label: str) -> str:
    """One more token for an active user (shown once), e.g. for a screen of the dashboard."""
    user(settings, user_id)
    token = secrets.token_urlsafe(32)
    with _connect(settings) as db:
        db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?)", (_digest(token), user_id, label, _now()))
    return token


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
