"""Runs of ``vitrine pipeline run`` asked for through the API (the analysts' button): one at a time,
in a process of its own (the pipeline owns the warehouse while it runs; the service never opens
it), logged to ``VITRINE_HOME/pipeline-runs/``. The last run's state is a small JSON file, so any
worker, or a restarted service, can tell whether it is still running and how it ended."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from warehouse.settings import Settings

_LOCK = threading.Lock()


def _folder(settings: Settings) -> Path:
    return settings.pipeline_runs_dir


def status(settings: Settings) -> dict:
    """``{"state": "never" | "running" | "succeeded" | "failed", started_at, finished_at, log_tail}``."""
    state_file = _folder(settings) / "last.json"
    if not state_file.exists():
        return {"state": "never", "started_at": None, "finished_at": None, "exit_code": None, "log_tail": ""}
    last = json.loads(state_file.read_text())
    if last["state"] == "running" and not _alive(last["pid"]):
        last.update(state="failed", finished_at=None, exit_code=None)  # died without a word (killed, machine restart)
    log = Path(last["log"])
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    return {k: last.get(k) for k in ("state", "started_at", "finished_at", "exit_code")} | {"log_tail": tail}


def start(settings: Settings) -> dict:
    """Start a pipeline run unless one is running; returns the status (``running`` either way)."""
    with _LOCK:
        current = status(settings)
        if current["state"] == "running":
            return current
        folder = _folder(settings)
        folder.mkdir(parents=True, exist_ok=True)
        started = datetime.now(UTC)
        log = folder / f"{started:%Y%m%d-%H%M%S}.log"
        process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "pipeline", "run", "--home", str(settings.home)],
                                   stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                                   cwd=Path(__file__).resolve().parents[1])
        _write(settings, {"state": "running", "pid": process.pid, "log": str(log),
                          "started_at": started.isoformat(timespec="seconds"), "finished_at": None, "exit_code": None})
        threading.Thread(target=_watch, args=(settings, process), daemon=True, name="pipeline-run").start()
        return status(settings)


def _watch(settings: Settings, process: subprocess.Popen) -> None:
    code = process.wait()
    last = json.loads((_folder(settings) / "last.json").read_text())
    last.update(state="succeeded" if code == 0 else "failed", exit_code=code,
                finished_at=datetime.now(UTC).isoformat(timespec="seconds"))
    _write(settings, last)


def _write(settings: Settings, state: dict) -> None:
    target = _folder(settings) / "last.json"
    staging = target.with_suffix(".tmp")
    staging.write_text(json.dumps(state))
    staging.replace(target)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
