"""The warehouse: versioned DDL, one schema definition, clear errors when the engine is taken."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, VITRINE
from warehouse.clickhouse import (
    WarehouseLockedError,
    close_all,
    connect,
    migrate,
    migrations,
    schema_version,
)
from warehouse.schema import TABLES


def test_migrations_are_recorded_and_rerunning_is_a_no_op(client):
    assert schema_version(client) == migrations()[-1].version
    assert migrate(client) == []
    assert client.query("SELECT count() FROM meta.schema_migrations").result_rows[0][0] == len(migrations())


def test_silver_tables_match_the_canonical_model(client):
    for table in TABLES.values():
        cols = [r[0] for r in client.query(
            "SELECT name FROM system.columns WHERE database = 'silver' AND table = {t:String} ORDER BY position",
            parameters={"t": table.name}).result_rows]
        assert cols == table.column_names + ["batch_id", "source_file", "source_line"], table.name


def test_a_warehouse_in_use_by_another_process_says_who(settings):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from warehouse.settings import load_settings; from warehouse.clickhouse import connect; "
         f"connect(load_settings(home={str(settings.home)!r})); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        close_all()
        with pytest.raises(WarehouseLockedError) as err:
            connect(settings)
        message = str(err.value)
        assert str(settings.warehouse_path) in message
        assert f"process {holder.pid}" in message
        assert "Code: 36" not in message
        # any command meets it as one message: no traceback, not the engine's own "Code: 76 … Cannot lock"
        # (exit code 2: try again later), whichever command opens it
        for command in (["report"], ["ingest", str(REPO / "tests" / "data")], ["features", "build"]):
            done = subprocess.run([*VITRINE, *command, "--home", str(settings.home)], capture_output=True, text=True,
                                  timeout=120, cwd=REPO)
            said = done.stdout + done.stderr
            assert done.returncode == 2 and "is in use by process" in said and f"{holder.pid}" in said, said[-2000:]
            assert "Traceback" not in said and "Code: 76" not in said and len(said.splitlines()) <= 6, said[-2000:]
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.2)
    assert connect(settings) is not None  # free again once the holder is gone
