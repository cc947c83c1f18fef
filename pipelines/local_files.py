"""What vitrine's processes share on the local disk besides the warehouse: folders replaced whole,
and small SQLite databases (which, unlike the embedded warehouse, several processes may open)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal


def replace_folder(staging: Path, target: Path) -> None:
    """Swap the fully written ``staging`` folder in as ``target``: a reader finds the old folder or
    the new one, never half of either, and a crash before the swap leaves the old one in place."""
    retired = target.with_name(f".{target.name}-retired")
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


_SCHEMA_CHECKED: set[Path] = set()  # databases whose schema this process has already created


@contextmanager
def sqlite_database(path: Path, schema: str, synchronous: Literal["NORMAL", "FULL"]) -> Iterator[sqlite3.Connection]:
    """An autocommit connection in WAL mode (readers beside a writer, across processes), with the
    schema created on the first use in this process. ``FULL`` makes each commit durable on its own;
    ``NORMAL`` survives a crash of the process but not a power cut, and spares a disk flush."""
    if path not in _SCHEMA_CHECKED:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        connection.execute(f"PRAGMA synchronous={synchronous}")
        if path not in _SCHEMA_CHECKED:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(schema)
            _SCHEMA_CHECKED.add(path)
        yield connection
    finally:
        connection.close()
