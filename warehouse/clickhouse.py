"""The ClickHouse warehouse: one clickhouse-connect client for the embedded engine and a server.

The URL picks the engine (``chdb:///path`` = chDB in this process, ``http(s)://`` = a server).
The embedded engine admits one operating-system process per data directory: the process that
opens it owns it until it exits. Within that process every caller shares one client.
Schema changes are versioned SQL files in ``warehouse/sql`` applied once, in order.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from warehouse.local_files import keep_private
from warehouse.settings import Settings

# Batches whose ingest committed; silver views and validation read only these (see ingest.py).
COMMITTED = "(SELECT batch_id FROM meta.ingest_files)"


def quoted(text: str) -> str:
    """``text`` as a ClickHouse string literal (for the few values that cannot be bound as parameters)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

_clients: dict[str, Client] = {}
_clients_lock = threading.Lock()


class WarehouseError(RuntimeError):
    """The warehouse cannot be used; the message says why and what to do."""


class WarehouseLockedError(WarehouseError):
    """Another process owns the embedded warehouse's data directory."""


def connect(settings: Settings) -> Client:
    """The shared client for ``settings.warehouse_url``, migrated to the latest schema."""
    url = settings.warehouse_url
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = _open(settings)
            migrate(client)
            _clients[url] = client
        return client


def close_all() -> None:
    """Close every client this process opened, releasing the embedded warehouse for others."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def _open(settings: Settings) -> Client:
    if not settings.is_embedded:
        try:
            return clickhouse_connect.get_client(dsn=settings.warehouse_url)
        except Exception as exc:
            raise WarehouseError(
                f"cannot reach the ClickHouse server at {url_without_secrets(settings.warehouse_url)}: {exc}"
            ) from exc
    path = settings.warehouse_path
    other = next((url for url in _clients if url.startswith("chdb://")), None)
    if other:
        raise WarehouseError(f"this process already opened the embedded warehouse {other}; chDB opens one "
                             f"data directory per process, so {path} cannot be opened too (close_all() first)")
    keep_private(settings.home.resolve())
    path.mkdir(parents=True, exist_ok=True)
    try:
        with engine_stderr_held():
            return clickhouse_connect.get_client(dsn=settings.warehouse_url)
    except Exception as exc:
        owner = embedded_owner_pid(path)
        if owner is not None or "Code: 36" in str(exc):
            who = f"process {owner}" if owner else "another process"
            raise WarehouseLockedError(
                f"the embedded warehouse at {path} is in use by {who}. "
                "Only one process may open it: stop that process, or reach the data through it "
                "(the vitrine service), or point VITRINE_HOME at another folder."
            ) from exc
        raise WarehouseError(f"cannot open the embedded warehouse at {path}: {exc}") from exc


@contextmanager
def engine_stderr_held() -> Iterator[None]:
    """While the embedded engine opens, what it writes to stderr itself (native code: ``Code: 76.
    DB::Exception: Cannot lock file …`` when another process holds the folder) goes to a
    temporary file, replayed on stderr if the open succeeds; on failure the caller's message says
    it in words instead."""
    with tempfile.TemporaryFile() as held:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            said = held.read().decode(errors="replace")
            if said and not failed:
                sys.stderr.write(said)


def embedded_owner_pid(path: Path) -> int | None:
    """PID written in the engine's ``status`` file, if that process is still alive."""
    import os

    status = path / "status"
    try:
        match = re.search(r"PID:\s*(\d+)", status.read_text())
    except OSError:
        return None
    if not match:
        return None
    pid = int(match.group(1))
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def url_without_secrets(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: list[str]


def migrations() -> list[Migration]:
    """The versioned DDL shipped in ``warehouse/sql``, ordered by version (``NNN_name.sql``)."""
    found = []
    for entry in resources.files("warehouse.sql").iterdir():
        match = re.fullmatch(r"(\d{3})_(\w+)\.sql", entry.name)
        if match:
            text = re.sub(r"--[^\n]*", "", entry.read_text(encoding="utf-8"))
            statements = [s.strip() for s in text.split(";") if s.strip()]
            found.append(Migration(int(match.group(1)), match.group(2), statements))
    return sorted(found, key=lambda m: m.version)


def migrate(client: Client) -> list[int]:
    """Apply the migrations not yet recorded in ``meta.schema_migrations``; returns those applied.

    Re-running is a no-op. Every DDL statement is idempotent (IF NOT EXISTS) so a migration that
    stopped half-way is finished by the next run.
    """
    client.command("CREATE DATABASE IF NOT EXISTS meta")
    client.command(
        "CREATE TABLE IF NOT EXISTS meta.schema_migrations "
        "(version UInt32, name String, applied_at DateTime DEFAULT now()) "
        "ENGINE = MergeTree ORDER BY version"
    )
    done = {row[0] for row in client.query("SELECT version FROM meta.schema_migrations").result_rows}
    applied = []
    for migration in migrations():
        if migration.version in done:
            continue
        for statement in migration.statements:
            client.command(statement)
        client.insert("meta.schema_migrations", [[migration.version, migration.name]], column_names=["version", "name"])
        applied.append(migration.version)
    return applied


def schema_version(client: Client) -> int:
    """The highest migration applied."""
    return int(client.query("SELECT max(version) FROM meta.schema_migrations").result_rows[0][0])
