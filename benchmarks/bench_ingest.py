"""Ingestion and generation speed: prints the figures the data-foundation issue asks for.

In one run, in a scratch warehouse:
1. generation of the large scale (wall time; peak memory is measured in a child process);
2. ingest of the large scale (rows/s, validation + dedup + gold refresh included);
3. ingest of the full UCI Online Retail file, and ClickHouse's own raw import of the same file into
   a bare MergeTree table (typed, no validation), and the ratio of the two rates (goal >= 0.5).

Usage: python benchmarks/bench_ingest.py [--scale large] [--skip-generate DIR]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ONLINE_RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"
RAW_COLUMNS = ("InvoiceNo String, StockCode String, Description String, Quantity Int32, InvoiceDate DateTime, "
               "UnitPrice Float64, CustomerID Nullable(Int64), Country String")


def generate_in_child(scale: str, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB) of generating ``scale`` in a fresh process."""
    code = (f"from pathlib import Path; from warehouse.generator import generate; "
            f"generate({scale!r}, 1, Path({str(out)!r}))")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak_kib / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="large")
    parser.add_argument("--skip-generate", type=Path, help="Use an already generated folder.")
    args = parser.parse_args()

    from warehouse.clickhouse import close_all, connect
    from warehouse.ingest import ingest
    from warehouse.mapping import load_mapping
    from warehouse.settings import load_settings

    scratch = Path(tempfile.mkdtemp(prefix="vitrine-bench-"))
    data = args.skip_generate or scratch / args.scale
    if not args.skip_generate:
        seconds, peak = generate_in_child(args.scale, data)
        sales_lines = sum(1 for _ in (data / "vendas.csv").open()) - 1
        print(f"generate {args.scale}: {seconds:.1f} s, peak memory {peak:.2f} GiB, {sales_lines:,} sales lines "
              f"(goal <= 180 s, <= 4 GiB, >= 10M lines)")

    settings = load_settings(home=scratch / "home")
    client = connect(settings)
    started = time.perf_counter()
    report = ingest(client, settings, [data], load_mapping("cosmeticco"))
    seconds = time.perf_counter() - started
    print(f"ingest {args.scale}: {report.read:,} rows in {seconds:.1f} s = {report.read / seconds:,.0f} rows/s "
          f"(accepted {report.accepted:,}, quarantined {report.quarantined:,}; load {report.load_seconds:.1f} s "
          f"= {report.read / report.load_seconds:,.0f} rows/s, gold refresh {report.gold_seconds:.1f} s)")

    if not ONLINE_RETAIL.exists():
        print(f"Online Retail file not found at {ONLINE_RETAIL}: skipped")
        return
    close_all()  # a fresh warehouse: the file's rate should not depend on what the large run left
    settings = load_settings(home=scratch / "home-online-retail")
    client = connect(settings)
    client.command("CREATE DATABASE IF NOT EXISTS bench")
    raw_seconds = []
    for _ in range(3):
        client.command("DROP TABLE IF EXISTS bench.raw")
        client.command(f"CREATE TABLE bench.raw ({RAW_COLUMNS}) ENGINE = MergeTree ORDER BY tuple()")
        started = time.perf_counter()
        client.command(f"INSERT INTO bench.raw SELECT * FROM file('{ONLINE_RETAIL}', 'CSVWithNames')")
        raw_seconds.append(time.perf_counter() - started)
    rows = client.query("SELECT count() FROM bench.raw").result_rows[0][0]
    started = time.perf_counter()
    ours = ingest(client, settings, [ONLINE_RETAIL], load_mapping("online_retail"))
    our_seconds = time.perf_counter() - started
    sales = ours.files[0].tables[-1]
    raw_rate, our_rate = rows / min(raw_seconds), rows / our_seconds
    print(f"online retail raw ClickHouse import: {rows:,} rows in {min(raw_seconds):.2f} s (best of 3) "
          f"= {raw_rate:,.0f} rows/s")
    print(f"online retail vitrine ingest:        {rows:,} rows in {our_seconds:.2f} s = {our_rate:,.0f} rows/s "
          f"(sales accepted {sales.accepted:,}, quarantined {sales.quarantined:,}; bronze, silver, gold)")
    print(f"  of which bronze + validation + silver {ours.load_seconds:.2f} s "
          f"({rows / ours.load_seconds:,.0f} rows/s), gold refresh {ours.gold_seconds:.2f} s")
    print(f"ratio vitrine / raw: {our_rate / raw_rate:.2f} (goal >= 0.5); "
          f"without the gold refresh: {rows / ours.load_seconds / raw_rate:.2f}")


if __name__ == "__main__":
    main()
