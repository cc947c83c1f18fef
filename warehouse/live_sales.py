"""Ticket lines posted by the point of sale while the service runs: durable before the reply,
idempotent, and handed to the warehouse by the next pipeline run.

Why a separate store: the embedded warehouse admits one process, and the pipeline owns it while it
runs; the service must keep accepting sales meanwhile. So posted lines go to a small SQLite file
(``live_sales.db`` under VITRINE_HOME, WAL, ``synchronous=FULL``: a line acknowledged is on disk).
Each line gets a sequence number. The pipeline exports the lines past its last export as a
``vendas`` CSV and ingests it like any other file (same validation, same quarantine), then records
how far it got; the published figures (warehouse/figures.py) carry that number, so the service adds
exactly the lines the warehouse does not hold yet: none twice, none lost.

A line is identified by (ticket_id, line). Posting it again with the same content is a no-op
(the reply says "duplicate"); with other content it is refused, since the first one may already
have been counted.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path

from warehouse.local_files import sqlite_database
from warehouse.settings import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS lines (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    store_id TEXT NOT NULL,
    seller_id TEXT NOT NULL,
    customer_id TEXT,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    discount REAL NOT NULL,
    sold_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (ticket_id, line)
);
CREATE INDEX IF NOT EXISTS lines_by_seller ON lines (seller_id, sold_at);
CREATE INDEX IF NOT EXISTS lines_by_store ON lines (store_id, sold_at);
CREATE TABLE IF NOT EXISTS exported (upto INTEGER NOT NULL, file TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refused (
    refusal_id INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id TEXT NOT NULL,
    seller_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    discount REAL NOT NULL,
    sold_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    refused_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refused_by_store ON refused (store_id, refusal_id);
"""
# The columns of a CosmeticCo ``vendas`` export, which the ingest already knows how to read.
EXPORT_HEADER = ["cod_transacao", "item", "cod_loja", "cod_vendedor", "cod_cliente", "cod_prod", "quantidade",
                 "preco_unitario", "desconto", "data_venda"]


class ConflictError(ValueError):
    """A (ticket, line) already posted with other content."""


@dataclass(frozen=True)
class SaleLine:
    """One ticket line; ``customer_id`` already pseudonymised, ``sold_at`` the store's local time."""
    ticket_id: str
    line: int
    store_id: str
    seller_id: str
    customer_id: str | None
    sku: str
    quantity: int
    unit_price: float
    discount: float
    sold_at: datetime

    def row(self) -> tuple:
        values = list(astuple(self))
        values[-1] = self.sold_at.strftime("%Y-%m-%d %H:%M:%S")
        return tuple(values)

    def key_digest(self) -> int:
        return _digest(f"{self.ticket_id}|{self.line}")

    def content_digest(self) -> int:
        """What the warehouse's copy of this line must match (:data:`KEYS_SQL` computes the same)."""
        return _digest(f"{self.store_id}|{self.seller_id}|{self.sku}|{self.quantity}|{round(self.unit_price * 10_000)}|"
                       f"{round(self.discount * 10_000)}|{self.sold_at:%Y-%m-%d %H:%M:%S}")


def _digest(text: str) -> int:
    """The first 8 bytes of the MD5, as ClickHouse's ``reinterpretAsUInt64(MD5(...))`` reads them."""
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "little")


# every line the warehouse holds as (key digest, content digest), published with the figures so the
# service refuses a posted line whose (ticket, line) the warehouse holds with other content (409)
# and does not count twice one it holds already; money in ten-thousandths, as Decimal(18, 4) stores it
KEYS_SQL = """
    SELECT reinterpretAsUInt64(MD5(concat(ticket_id, '|', toString(line)))) AS key,
           reinterpretAsUInt64(MD5(concat(store_id, '|', seller_id, '|', sku, '|', toString(quantity), '|',
                                          toString(toInt64(unit_price * 10000)), '|', toString(toInt64(ifNull(discount, 0) * 10000)),
                                          '|', toString(sold_at)))) AS content
    FROM silver.sales"""


def _connect(settings: Settings):
    return sqlite_database(settings.live_sales_db, SCHEMA, "FULL")  # acknowledged means on disk


_COLUMNS = "ticket_id, line, store_id, seller_id, customer_id, sku, quantity, unit_price, discount, sold_at"


def accept(settings: Settings, lines: list[SaleLine]) -> tuple[int, int]:
    """Store the lines in one transaction; returns (new, duplicates). Raises ConflictError, storing
    nothing, when a (ticket, line) was posted before with other content."""
    received = datetime.now(UTC).isoformat(timespec="milliseconds")
    new = duplicates = 0
    with _connect(settings) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            for sale in lines:
                row = sale.row()
                cursor = db.execute(f"INSERT OR IGNORE INTO lines ({_COLUMNS}, received_at) VALUES "
                                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row, received))
                if cursor.rowcount:
                    new += 1
                    continue
                stored = db.execute(f"SELECT {_COLUMNS} FROM lines WHERE ticket_id = ? AND line = ?",
                                    (sale.ticket_id, sale.line)).fetchone()
                if tuple(stored) != row:
                    raise ConflictError(f"ticket {sale.ticket_id} line {sale.line} was already posted with other "
                                        "content; post a new line (or a return) instead of changing it")
                duplicates += 1
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return new, duplicates


def record_refused(settings: Settings, sale: SaleLine, reason: str) -> None:
    """Keep an implausible line the API refused, for the store's manager to see (and the bot to push)."""
    with _connect(settings) as db:
        db.execute("INSERT INTO refused (store_id, seller_id, ticket_id, line, sku, quantity, unit_price, discount, "
                   "sold_at, reason, refused_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (sale.store_id, sale.seller_id, sale.ticket_id, sale.line, sale.sku, sale.quantity, sale.unit_price,
                    sale.discount, sale.row()[-1], reason, datetime.now(UTC).isoformat(timespec="seconds")))


def refused(settings: Settings, store_id: str, limit: int = 50) -> list[dict]:
    """The store's refused lines, newest first."""
    with _connect(settings) as db:
        cursor = db.execute("SELECT * FROM refused WHERE store_id = ? ORDER BY refusal_id DESC LIMIT ?", (store_id, limit))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def lines_after(settings: Settings, seq: int, seller_id: str | None = None, store_id: str | None = None,
                since: str | None = None) -> list[dict]:
    """Posted lines with a sequence number above ``seq`` (those the warehouse does not hold yet),
    optionally one seller's or one store's, sold at or after ``since`` (``YYYY-MM-DD``)."""
    where, params = ["seq > ?"], [seq]
    for column, value in (("seller_id", seller_id), ("store_id", store_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if since:
        where.append("sold_at >= ?")
        params.append(since)
    with _connect(settings) as db:
        cursor = db.execute(f"SELECT seq, {_COLUMNS} FROM lines WHERE {' AND '.join(where)} ORDER BY seq", params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def exported_upto(settings: Settings) -> int:
    """The last sequence number handed to the warehouse (0: none yet)."""
    with _connect(settings) as db:
        row = db.execute("SELECT max(upto) FROM exported").fetchone()
    return int(row[0] or 0)


def export_pending(settings: Settings, folder: Path) -> tuple[Path | None, int]:
    """Write the lines not exported yet as a ``vendas`` CSV; returns (file or None, its last seq).
    The file name carries the sequence range, so an export repeated after a crash has the same
    content and the ingest skips it as already loaded."""
    start = exported_upto(settings)
    rows = lines_after(settings, start)
    if not rows:
        return None, start
    upto = rows[-1]["seq"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"vendas-live-{start + 1:09d}-{upto:09d}.csv"
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(EXPORT_HEADER)
        for r in rows:
            writer.writerow([r["ticket_id"], r["line"], r["store_id"], r["seller_id"], r["customer_id"] or "", r["sku"],
                             r["quantity"], f"{r['unit_price']:.4f}", f"{r['discount']:.4f}", r["sold_at"]])
    partial.rename(path)
    return path, upto


def mark_exported(settings: Settings, upto: int, file: Path) -> None:
    """Record that the warehouse now holds every line up to ``upto`` (after its ingest committed)."""
    with _connect(settings) as db:
        db.execute("INSERT INTO exported VALUES (?, ?, ?)", (upto, file.name, datetime.now(UTC).isoformat()))
