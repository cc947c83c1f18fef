"""What vitrine's processes share on the local disk besides the warehouse: folders replaced whole,
small SQLite databases (which, unlike the embedded warehouse, several processes may open), and
the rule that the home is private: it holds token hashes, the audit trail, sales and models, so
the home is 0700 and what vitrine writes there 0600 (:func:`keep_private`)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal
from urllib.parse import quote


def replace_folder(staging: Path, target: Path) -> None:
    """Swap the fully written ``staging`` folder in as ``target``: a reader finds the old folder or
    the new one, never half of either, and a crash before the swap leaves the old one in place."""
    retired = target.with_name(f".{target.name}-retired")
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def store_file(folder: Path, kind: str, store_id: str) -> Path:
    """The Parquet file of one store's ``kind`` under ``folder``: what is published per store (a
    run's forecasts, the live figures' SKU history) is read a store at a time; any store id is a
    safe file name once quoted."""
    return folder / kind / f"{quote(str(store_id), safe='')}.parquet"


def keep_private(home: Path | None = None) -> None:
    """From now on this process (and the processes it starts) creates files 0600 and folders 0700;
    ``home``, created if need be, is made 0700 even if an older version left it open."""
    os.umask(0o077)
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        home.chmod(0o700)


def make_private(folder: Path) -> None:
    """Take group and other permissions off everything under ``folder``: for what other writers
    create with their own modes (MLflow copies the model code with the repository's modes, Spark's
    file system writes 0644). Other processes may be writing under ``folder`` meanwhile (the
    service swaps a champion's staging folder in): a path gone by the time it is reached is
    skipped, not an error."""
    walked = os.walk(folder)  # a folder that vanishes mid-walk is passed over, unlike Path.rglob
    for path in [folder, *(Path(top) / name for top, folders, files in walked for name in folders + files)]:
        try:
            if not path.is_symlink():
                mode = path.stat().st_mode
                if mode & 0o077:
                    path.chmod(mode & 0o700)
        except FileNotFoundError:
            continue


_OPEN = threading.local()  # this thread's open connections by database path: a request pays no connect


@contextmanager
def sqlite_database(path: Path, schema: str, synchronous: Literal["NORMAL", "FULL"]) -> Iterator[sqlite3.Connection]:
    """This thread's autocommit connection to ``path`` in WAL mode (readers beside a writer, across
    processes), opened and given its schema on first use and kept open after: the service asks it
    on every request. ``FULL`` makes each commit durable on its own; ``NORMAL`` survives a crash of
    the process but not a power cut, and spares a disk flush. A database file deleted since (a home
    removed) is opened afresh rather than written into the void."""
    opened: dict = _OPEN.__dict__.setdefault("connections", {})
    key = (os.getpid(), path)  # a forked child opens its own
    connection = opened.get(key)
    if connection is None or not path.exists():
        if connection is not None:
            connection.close()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=10, isolation_level=None)
        path.chmod(0o600)  # tokens, audit, sales: this user's only, whoever created the file
        connection.execute(f"PRAGMA synchronous={synchronous}")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(schema)
        opened[key] = connection
    try:
        yield connection
    finally:
        if connection.in_transaction:  # a caller's failure mid-transaction must not leak into the next use
            connection.rollback()
