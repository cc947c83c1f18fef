"""``fit_recommender`` (the public cross-sell API) against every single scorer of its pool, out of
sample: HitRate@10 of one hidden item per test basket, the rest of the basket as the query.

Datasets: Online Retail (invoices as baskets, ~3,900 SKUs) and the generator (tickets as
baskets) at the scales asked for. Splits: ``temporal`` (the last 20% of baskets are the test) and
``random`` (a random 20%). Also printed: the fit time, the number of lines fitted, and
``complete()`` latency (p50/p99) for 3-item baskets.

Usage: python benchmarks/bench_recommender.py [--datasets online_retail,small,medium]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from models.basket_models import basket_matrix  # noqa: E402
from models.recommend import candidates, fit_recommender  # noqa: E402

ONLINE_RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"
TEST_BASKETS = 5000


def online_retail() -> list[list[str]]:
    raw = pd.read_csv(ONLINE_RETAIL, dtype={"StockCode": str, "InvoiceNo": str})
    raw = raw[~raw["InvoiceNo"].str.startswith("C") & (raw["Quantity"] > 0)]
    raw = raw.assign(at=pd.to_datetime(raw["InvoiceDate"])).sort_values(["at", "InvoiceNo"])
    return raw.groupby("InvoiceNo", sort=False)["StockCode"].apply(list).tolist()


def generated(scale: str) -> list[list[str]]:
    from warehouse.generator import generate

    with tempfile.TemporaryDirectory() as folder:
        generate(scale, 11, Path(folder))
        sales = pd.read_csv(Path(folder) / "vendas.csv", usecols=["cod_transacao", "cod_prod", "quantidade", "data_venda"])
    sales = sales[sales["quantidade"] > 0].sort_values(["data_venda", "cod_transacao"])
    return sales.groupby("cod_transacao", sort=False)["cod_prod"].apply(list).tolist()


def hidden_items(test: list[list[str]], seed: int) -> list[tuple[list[str], str]]:
    rng = np.random.default_rng(seed)
    out = []
    for basket in test:
        basket = list(dict.fromkeys(basket))
        if len(basket) >= 2:
            hidden = basket[rng.integers(len(basket))]
            out.append(([s for s in basket if s != hidden], hidden))
    if len(out) > TEST_BASKETS:
        out = [out[i] for i in np.sort(rng.choice(len(out), TEST_BASKETS, replace=False))]
    return out


def single_scorers(train: list[list[str]], cases: list[tuple[list[str], str]]) -> dict[str, float]:
    """HitRate@10 of each scorer of the pool alone, fitted on every training basket."""
    skus, cols = np.unique(np.concatenate([np.asarray(list(dict.fromkeys(b)), dtype=object) for b in train]).astype(str),
                           return_inverse=True)
    lengths = [len(dict.fromkeys(b)) for b in train]
    matrix = basket_matrix(np.repeat(np.arange(len(train)), lengths), cols, len(train), len(skus))
    index = {s: i for i, s in enumerate(skus)}
    known = [(q, h) for q, h in cases if h in index]
    q_rows = np.repeat(np.arange(len(known)), [len([s for s in q if s in index]) for q, _ in known])
    q_cols = np.array([index[s] for q, _ in known for s in q if s in index], int)
    queries = basket_matrix(q_rows, q_cols, len(known), len(skus))
    hidden = np.array([index[h] for _, h in known])
    out = {}
    for scorer in candidates(len(skus)):
        scores = scorer.fit(matrix).scores(queries)
        target = scores[np.arange(len(hidden)), hidden]
        blocked = queries.toarray() > 0
        ahead = ((scores > target[:, None]) & ~blocked).sum(axis=1)
        out[scorer.name] = float(np.sum(ahead < 10) / len(cases))  # an unseen hidden SKU is a miss for all
    return out


def run(name: str, baskets: list[list[str]], split: str) -> None:
    rng = np.random.default_rng(3)
    if split == "temporal":
        cut = int(len(baskets) * 0.8)
        train, test = baskets[:cut], baskets[cut:]
    else:
        chosen = rng.random(len(baskets)) < 0.8
        train = [b for b, c in zip(baskets, chosen) if c]
        test = [b for b, c in zip(baskets, chosen) if not c]
    cases = hidden_items(test, seed=4)
    started = time.perf_counter()
    recommender = fit_recommender(train)
    fit_seconds = time.perf_counter() - started
    latencies, hits, short = [], 0, 0
    for query, hidden in cases:
        started = time.perf_counter()
        suggested = recommender.complete(query, k=10)
        latencies.append(time.perf_counter() - started)
        hits += hidden in suggested
        short += len(suggested) < min(10, len(recommender.skus) - len(set(query) & set(recommender.skus)))
    served = hits / len(cases)
    singles = single_scorers(train, cases)
    best = max(singles, key=singles.get)
    three = [q for q, _ in cases if len(q) >= 3][:2000]
    timing = []
    for query in three:
        started = time.perf_counter()
        recommender.complete(query[:3], k=10)
        timing.append(time.perf_counter() - started)
    lines = sum(len(b) for b in train)
    print(f"\n== {name} · {split} · {len(train):,} training baskets ({lines:,} lines), {len(recommender.skus):,} SKUs, "
          f"{len(cases):,} test cases ==")
    for scorer, value in sorted(singles.items(), key=lambda kv: -kv[1]):
        print(f"  {scorer:<14} {value:.4f}")
    print(f"  served         {served:.4f}   blend {recommender.weights}")
    print(f"served / best single ({best}) = {served / singles[best]:.3f}; lists shorter than k: {short}; "
          f"fit {fit_seconds:.1f} s; complete() on 3 items p50 {np.percentile(timing, 50) * 1e3:.2f} ms, "
          f"p99 {np.percentile(timing, 99) * 1e3:.2f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="online_retail,small,medium")
    parser.add_argument("--splits", default="temporal,random")
    args = parser.parse_args()
    for dataset in args.datasets.split(","):
        baskets = online_retail() if dataset == "online_retail" else generated(dataset)
        for split in args.splits.split(","):
            run(dataset, baskets, split)


if __name__ == "__main__":
    main()
