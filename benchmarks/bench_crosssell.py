"""Cross-sell accuracy and speed: prints the figures the cross-sell issue asks for.

In one run, on (a) the medium generated scale (an existing home given with --home, or generated,
ingested and featurised in a scratch folder) and (b) the real Online Retail data (invoices as
baskets, cancellations removed by the basket features):
- the choice ``vitrine train crosssell`` makes (the blend of fit_recommender, chosen on validation
  windows before the test weeks), then HitRate@10 / NDCG@10 / MRR / Recall@10 / coverage of the
  served blend and of every scorer of the pool alone on the held-out weeks;
- the time to choose and fit on the first 1,000,000 basket lines (medium);
- in-process latency of ``CrossSell.complete`` for 3-SKU baskets drawn from real baskets (p50/p99).

Goals: served HitRate@10 ≥ 1.05 × the best single scorer on both; fit on 1M lines ≤ 60 s on 2
cores; p99 ≤ 2 ms in-process.

Usage: python benchmarks/bench_crosssell.py [--home DIR] [--skip-online-retail] [--fit-only]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ONLINE_RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"


def vitrine(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).parent / "vitrine"), *args], check=True, stdout=subprocess.DEVNULL)


def prepare(home: Path, source: str) -> None:
    if source == "medium":
        vitrine("generate", "--scale", "medium", "--seed", "42", "--out", str(home / "data" / "medium"), "--home", str(home))
        vitrine("ingest", str(home / "data" / "medium"), "--home", str(home))
    else:
        vitrine("ingest", str(ONLINE_RETAIL), "--mapping", "online_retail", "--home", str(home))
    vitrine("features", "build", "--sets", "basket_lines", "--home", str(home))


def time_fit(lines, catalogue) -> None:
    """The time to choose and fit ``fit_recommender`` on the first 1,000,000 of ``lines``."""
    from models.recommend import fit_recommender as choose
    from training.crosssell import baskets_of

    first = lines.sort_values("sold_on").head(1_000_000)
    started = time.perf_counter()
    baskets = baskets_of(first)
    choose(baskets, catalogue)
    seconds = time.perf_counter() - started
    print(f"choose and fit on 1,000,000 basket lines ({len(baskets):,} baskets, {first['sku'].nunique():,} SKUs): "
          f"{seconds:.1f} s (goal <= 60 s: {'met' if seconds <= 60 else 'MISSED'})", flush=True)


def measure(name: str, home: Path, time_training: bool) -> None:
    from features.build import latest_run
    from features.reference import products_with_margin
    from models.crosssell import Rules
    from training.crosssell import (
        CrossSellConfig,
        compare,
        fit_served,
        load_lines,
    )
    from warehouse.settings import load_settings

    settings = load_settings(home=home)
    lines = load_lines(latest_run(settings, "basket_lines").path)
    catalogue = products_with_margin(settings)
    config = CrossSellConfig()
    print(f"\n== {name}: {len(lines):,} basket lines, {lines['ticket_id'].nunique():,} baskets, "
          f"{lines['sku'].nunique():,} SKUs ==", flush=True)
    started = time.perf_counter()
    evaluation, blend = compare(lines, catalogue, config)
    print(f"chosen and tested in {time.perf_counter() - started:.0f} s: {blend.weights}; validation {blend.validation}; "
          f"rule costs {blend.rule_costs}")
    print(evaluation.round(4).to_string(index=False))
    scores = evaluation.set_index("model")["hit_rate_10"]
    singles = scores.drop(index="served")
    ratio = scores["served"] / singles.max()
    print(f"{name}: served HitRate@10 / best single ({singles.idxmax()}) = {ratio:.3f} (goal >= 1.05): "
          f"{'met' if ratio >= 1.05 else 'MISSED'}")

    if time_training:
        time_fit(lines, catalogue)

    from warehouse.clickhouse import close_all

    recommender = fit_served(settings, lines, catalogue, Rules(), config)
    close_all()
    rng = np.random.default_rng(1)
    baskets = lines.groupby("ticket_id")["sku"].agg(list)
    baskets = [b for b in baskets[baskets.str.len() >= 3].sample(2000, random_state=1, replace=True)]
    stores = lines["store_id"].astype(str).unique()
    requests = [(list(rng.choice(b, 3, replace=False)), str(rng.choice(stores))) for b in baskets]
    for basket, store in requests[:50]:
        recommender.complete(basket, store, k=5)  # warm up
    timings = []
    for basket, store in requests:
        started = time.perf_counter()
        recommender.complete(basket, store, k=5)
        timings.append((time.perf_counter() - started) * 1000)
    p50, p99 = np.percentile(timings, [50, 99])
    print(f"{name}: complete() for a 3-SKU basket, k=5, rules on: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
          f"(goal p99 <= 2 ms: {'met' if p99 <= 2 else 'MISSED'})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, help="an existing home with medium basket_lines features")
    parser.add_argument("--skip-online-retail", action="store_true")
    parser.add_argument("--fit-only", action="store_true", help="only the fit on 1M lines of --home")
    args = parser.parse_args()
    if args.fit_only:
        from features.build import latest_run
        from features.reference import products_with_margin
        from training.crosssell import load_lines
        from warehouse.clickhouse import close_all
        from warehouse.settings import load_settings

        settings = load_settings(home=args.home)
        lines, catalogue = load_lines(latest_run(settings, "basket_lines").path), products_with_margin(settings)
        close_all()
        time_fit(lines, catalogue)
        return

    scratch = Path(tempfile.mkdtemp(prefix="bench-crosssell-"))
    home = args.home or scratch / "medium"
    if args.home is None:
        prepare(home, "medium")
    measure("medium", home, time_training=True)
    if not args.skip_online_retail:
        prepare(scratch / "online_retail", "online_retail")
        measure("online retail", scratch / "online_retail", time_training=False)


if __name__ == "__main__":
    main()
