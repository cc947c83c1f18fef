"""Feature-build speed: prints the figures the Spark feature issue asks for.

In one run:
1. a warehouse holding the large generated scale (>= 10M sales lines): generated and ingested in a
   scratch folder, or an existing VITRINE_HOME given with --home;
2. the time ClickHouse alone takes to compute the daily store x SKU aggregation the demand features
   start from (sales -> units and revenue per day), and the row count of gold.daily_sales;
3. the feature build in a fresh process (its own Spark JVM, ``local[*]`` on this machine's cores):
   wall time per feature set, rows/s, and the peak memory of the process tree (Python + JVM).

Goal: the demand_day build for the large scale in <= 5 minutes on 2 cores.

Usage: python benchmarks/bench_features.py [--home DIR] [--sets demand_day,demand_week,...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DAILY_AGGREGATION = """
SELECT count() FROM (
    SELECT store_id, sku, toDate(sold_at) AS date, sum(quantity) AS units,
           sum(quantity * unit_price - discount) AS revenue
    FROM silver.sales GROUP BY store_id, sku, date)
"""


def prepare(home: Path) -> None:
    """Generate and ingest the large scale into ``home``."""
    from warehouse.clickhouse import close_all, connect
    from warehouse.generator import generate
    from warehouse.ingest import ingest
    from warehouse.mapping import load_mapping
    from warehouse.settings import load_settings

    data = home / "data" / "large"
    generate("large", 1, data)
    settings = load_settings(home=home)
    ingest(connect(settings), settings, [data], load_mapping("cosmeticco"))  # its CSVs, not verdade.json
    close_all()


def peak_tree_rss(process: psutil.Popen, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        try:
            tree = [process, *process.children(recursive=True)]
            peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.25)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, help="A VITRINE_HOME that already holds the large scale.")
    parser.add_argument("--sets", default="demand_day,demand_week,traffic_hour,basket_lines,customer_items")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="vitrine-bench-features-"))
    if not args.home:
        started = time.perf_counter()
        prepare(home)
        print(f"prepared the large scale in {time.perf_counter() - started:.0f} s (generate + ingest)")

    from warehouse.clickhouse import close_all, connect
    from warehouse.settings import load_settings

    client = connect(load_settings(home=home))
    sales, daily_rows = client.query("SELECT (SELECT count() FROM silver.sales), (SELECT count() FROM gold.daily_sales)"
                                     ).result_rows[0]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        groups = client.query(DAILY_AGGREGATION).result_rows[0][0]
        best = min(best, time.perf_counter() - started)
    print(f"warehouse: {sales:,} sales lines; gold.daily_sales {daily_rows:,} rows (dense store x SKU x day)")
    print(f"ClickHouse alone, daily aggregation of the sales: {groups:,} store x SKU x day groups in {best:.2f} s "
          f"(best of 3) = {sales / best:,.0f} lines/s")
    close_all()  # the build process owns the embedded warehouse next

    code = ("import json, sys; from features.build import build; from warehouse.settings import load_settings; "
            f"runs = build(load_settings(home={str(home)!r}), tuple({args.sets!r}.split(','))); "
            "print('RUNS', json.dumps([[r.feature_set, r.rows, r.seconds] for r in runs]))")
    stop, peak = threading.Event(), [0]
    started = time.perf_counter()
    child = psutil.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    sampler = threading.Thread(target=peak_tree_rss, args=(child, stop, peak), daemon=True)
    sampler.start()
    out, _ = child.communicate()
    stop.set()
    wall = time.perf_counter() - started
    if child.returncode:
        sys.exit(f"feature build failed (exit {child.returncode})")
    runs = json.loads(next(line for line in out.splitlines() if line.startswith("RUNS ")).removeprefix("RUNS "))
    print(f"feature build on {os.cpu_count()} cores, local[*] (Spark start-up and ClickHouse hand-off included):")
    for name, rows, seconds in runs:
        print(f"  {name:<15} {rows:>12,} rows in {seconds:7.1f} s = {rows / seconds:>10,.0f} rows/s")
    demand = next((seconds for name, _, seconds in runs if name == "demand_day"), None)
    print(f"total {wall:.1f} s wall, peak memory {peak[0] / 2**30:.2f} GiB (Python + Spark JVM)")
    if demand is not None:
        verdict = "met" if demand <= 300 else "MISSED"
        print(f"demand_day build {demand:.1f} s (goal <= 300 s on 2 cores: {verdict})")


if __name__ == "__main__":
    main()
