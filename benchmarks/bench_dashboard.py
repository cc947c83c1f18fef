"""Each dashboard page's first render in a real browser: the real Streamlit server (`vitrine
dashboard`, signed in with an analyst's token) over the real service, every page opened fresh in
headless Chromium; the time from navigation until the page's text stops changing (no spinner
left), polled every 0.25 s, so a figure is at most 0.25 s late. Each page's first visit finds the
dashboard's caches cold; a second round shows the cached render.

Goal (medium generated data: ``vitrine run --scale medium --no-serve``): each page's first render ≤ 3 s.

Usage: python benchmarks/bench_dashboard.py --home DIR
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TODAY = "2026-10-31"  # the generated data's last day: the live figures replay it
PAGES = ("estoque", "escala", "cross_sell", "metas", "lojas", "modelos")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a home where `vitrine run` has run")
    args = parser.parse_args()
    os.environ["VITRINE_TODAY"] = TODAY

    import httpx

    from serving import auth
    from tests.browser import Browser
    from tests.conftest import VITRINE, free_port, start, stop
    from warehouse.settings import load_settings

    settings = load_settings(home=args.home)
    analyst, _ = auth.add_user(settings, "Bench Analista", "analyst")
    service, url = start(args.home)
    port = free_port()
    dashboard = subprocess.Popen([*VITRINE, "dashboard", "--port", str(port), "--home", str(args.home)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=REPO,
                                 env={**os.environ, "VITRINE_SERVICE_URL": url,
                                      "VITRINE_DASHBOARD_TOKEN": auth.add_token(settings, analyst.user_id, "bench")})
    address = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if httpx.get(f"{address}/_stcore/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    browser = Browser()
    shots = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    results: dict[str, list[float]] = {}
    try:
        for round_ in ("cold", "cached"):
            for n, page in enumerate(PAGES):
                seconds = browser.visit(f"{address}/{page if n else ''}", shots / f"{page}-{round_}.png").seconds
                results.setdefault(page, []).append(seconds)
    finally:
        browser.close()
        dashboard.terminate()
        stop(service)
    print(f"Home {args.home}; {os.cpu_count()} cores shared by service, dashboard and browser; screenshots in {shots}\n")
    print(f"  {'page':12s} {'first render':>13s} {'cached':>8s}")
    for page, (cold, cached) in results.items():
        print(f"  {page:12s} {cold:11.2f} s {cached:6.2f} s")
    worst = max(cold for cold, _ in results.values())
    print(f"\nGoal: each page's first render ≤ 3 s → slowest {worst:.2f} s → {'met' if worst <= 3 else 'MISSED'}")


if __name__ == "__main__":
    main()
