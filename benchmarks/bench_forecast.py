"""The product's stock forecaster end to end: prints the figures the forecasting issue asks of
``vitrine train forecast``.

On the medium generated scale (generated, ingested and featurised in a scratch folder, or an
existing home given with --home), and optionally on Online Retail (ingested with its mapping,
countries as stores): the full ``train_forecast`` (the pool's rolling backtest + the blend + the
final fits + scores per level + MLflow + gate), timed, with each member's seconds; the ensemble's
RMSSE against the best single member at SKU × store, store and chain; P10–P90 coverage per level;
and whether every store × SKU that sold in the last 90 days has a forecast.

Goals: RMSSE ≤ 0.95 × the best member at SKU × store, ≤ 0.90 at store and chain; coverage within
75–85% at every level; no selling series without a forecast; medium train time ≤ 15 min on 2 cores.

Usage: python benchmarks/bench_forecast.py [--home DIR] [--online-retail]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ONLINE_RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"


def vitrine(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).parent / "vitrine"), *args], check=True, stdout=subprocess.DEVNULL)


def prepare_medium(home: Path) -> None:
    vitrine("generate", "--scale", "medium", "--seed", "42", "--out", str(home / "data" / "medium"), "--home", str(home))
    vitrine("ingest", str(home / "data" / "medium"), "--home", str(home))
    vitrine("features", "build", "--sets", "demand_day", "--home", str(home))


def prepare_online_retail(home: Path) -> None:
    vitrine("ingest", str(ONLINE_RETAIL), "--mapping", "online_retail", "--home", str(home))
    vitrine("features", "build", "--sets", "demand_day", "--home", str(home))


def measure(name: str, home: Path) -> None:
    from features.build import latest_run
    from training.forecast import load_units, train_forecast
    from warehouse.clickhouse import close_all
    from warehouse.settings import load_settings

    settings = load_settings(home=home)
    started = time.perf_counter()
    result = train_forecast(settings, on_step=lambda step: print(f"  {step} at {time.perf_counter() - started:.0f} s",
                                                                 flush=True))
    seconds = time.perf_counter() - started
    units = load_units(latest_run(settings, "demand_day").path)
    close_all()
    summary = result.summary
    print(f"\n== {name}: {len(result.forecast[['store_id', 'sku']].drop_duplicates()):,} series ==")
    print(summary.sort_values(["level", "rmsse"]).round(3).to_string(index=False))
    members = {k.removeprefix("member."): round(v, 1) for k, v in result.seconds.items() if k.startswith("member.")}
    print(f"{name}: train_forecast {seconds:.0f} s (goal <= 900 s: {'met' if seconds <= 900 else 'MISSED'}); "
          f"member seconds (backtest) {members}; gate: {result.reason}")
    for level, goal in (("sku_store", 0.95), ("store", 0.90), ("chain", 0.90)):
        rows = summary[summary["level"] == level].set_index("model")
        best = rows.drop(index="ensemble")["rmsse"]
        ratio = rows.loc["ensemble", "rmsse"] / best.min()
        cover = rows.loc["ensemble", "coverage"]
        print(f"{name}: {level} RMSSE ensemble / best member ({best.idxmin()}) = {ratio:.3f} "
              f"(goal <= {goal}): {'met' if ratio <= goal else 'MISSED'}; P10-P90 coverage {cover:.1%} "
              f"(goal 75-85%): {'met' if 0.75 <= cover <= 0.85 else 'MISSED'}")
    recent = units[(units["date"] > units["date"].max() - pd.Timedelta(days=90)) & (units["units"] > 0)]
    selling = set(zip(recent["store_id"], recent["sku"]))
    missing = selling - set(zip(result.forecast["store_id"], result.forecast["sku"]))
    print(f"{name}: {len(missing)} of {len(selling):,} series that sold in the last 90 days have no forecast "
          f"(goal 0): {'met' if not missing else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, help="an existing home with medium demand_day features")
    parser.add_argument("--online-retail", action="store_true", help="also train on Online Retail")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-forecast-"))
    home = args.home or scratch / "medium"
    if args.home is None:
        started = time.perf_counter()
        prepare_medium(home)
        print(f"medium data prepared in {time.perf_counter() - started:.0f} s", flush=True)
    measure("medium", home)
    if args.online_retail:
        prepare_online_retail(scratch / "online_retail")
        measure("online retail", scratch / "online_retail")


if __name__ == "__main__":
    main()
