"""How long a newcomer waits for the first answer: ``vitrine run`` (what ``make run`` runs) in a fresh
home, timed from its start until the API answers ``/healthz`` and the dashboard answers its health
check; the seconds of each stage the main job printed come along. The run is stopped once both
answer (the models are still training then; they land later).

Goal (issue 23): API and dashboard answering ≤ 5 min from the start, small data, 2 quiet cores.

Usage: python benchmarks/bench_first_answer.py [--scale small]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--limit-s", type=float, default=3600)
    args = parser.parse_args()
    from tests.conftest import VITRINE, free_port

    api, dashboard = free_port(), free_port()
    with tempfile.TemporaryDirectory() as home:
        started = time.monotonic()
        process = subprocess.Popen(
            [*VITRINE, "run", "--scale", args.scale, "--home", home], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True, cwd=REPO,
            env={**os.environ, "COLUMNS": "200", "VITRINE_SERVICE_PORT": str(api), "VITRINE_DASHBOARD_PORT": str(dashboard)})
        lines: list[tuple[float, str]] = []
        threading.Thread(target=lambda: lines.extend((time.monotonic() - started, line) for line in process.stdout),
                         daemon=True).start()
        first: dict[str, float] = {}
        while len(first) < 2 and process.poll() is None and time.monotonic() - started < args.limit_s:
            for name, url in (("API", f"http://127.0.0.1:{api}/healthz"),
                              ("dashboard", f"http://127.0.0.1:{dashboard}/_stcore/health")):
                if name not in first and answers(url):
                    first[name] = time.monotonic() - started
            time.sleep(1)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    for at, line in lines:
        if re.search(r"Wrote .* rows|Files ingested|Features as of|Published|Serving after", line):
            print(f"{at:7.1f} s  {line.strip()[:150]}")
    for name in ("API", "dashboard"):
        seconds = first.get(name)
        print(f"{name} answering after {seconds:.0f} s" if seconds else f"{name} never answered")
    worst = max(first.values()) if len(first) == 2 else float("inf")
    print(f"first answer (both up): {worst:.0f} s — goal ≤ 300 s: {'met' if worst <= 300 else 'MISSED'}")


if __name__ == "__main__":
    main()
