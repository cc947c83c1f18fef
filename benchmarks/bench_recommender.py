"""``fit_recommender`` (the public cross-sell API) against every single scorer of its pool, out of
sample: HitRate@10 of one hidden item per test basket, the rest of the basket as the query.

Datasets: Online Retail (invoices as baskets, ~3,900 SKUs) and the generator (tickets as
baskets) at the scales asked for. Splits: ``temporal`` (the last 20% of baskets are the test) and
``random`` (a random 20%). Also printed: the fit time, the number of lines fitted, and
``complete()`` latency (p50/p99) for 3-item baskets. On generated data, also the generator's own
basket model (``planted_oracle``): the hit rate no recommender fitted on baskets alone can be
expected to pass but by luck; and the served blend told which SKUs are on promotion at each
basket's store and day (``promotion_boosted``): what a promotion-aware cross-sell would gain.

Usage: python benchmarks/bench_recommender.py [--datasets online_retail,small,medium]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
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


@dataclass
class Truth:
    """What the generator planted, as far as a basket shows it: each basket's store and day, the
    complementary pairs (a, b, P(b | a)), and the promotions' lift on a SKU's chance of joining a
    basket (``factor`` per store, day and promoted SKU: the generator's acceptance
    min(season × (1 + lift × discount), 2.5) over the same without the discount)."""

    store: np.ndarray
    day: np.ndarray
    pairs: list[tuple[str, str, float]]
    factor: pd.DataFrame


def generated(scale: str) -> tuple[list[list[str]], Truth]:
    from warehouse.generator import generate

    with tempfile.TemporaryDirectory() as folder:
        generate(scale, 11, Path(folder))
        sales = pd.read_csv(Path(folder) / "vendas.csv",
                            usecols=["cod_transacao", "cod_loja", "cod_prod", "quantidade", "data_venda"])
        truth = json.loads((Path(folder) / "verdade.json").read_text(encoding="utf-8"))
        promotions = pd.read_csv(Path(folder) / "promocoes.csv", dtype={"cod_loja": str}, keep_default_na=False)
        category = pd.read_csv(Path(folder) / "produtos.csv", index_col="cod_prod")["categoria"]
        stores = pd.read_csv(Path(folder) / "lojas.csv")["cod_loja"].tolist()
    sales = sales[sales["quantidade"] > 0].sort_values(["data_venda", "cod_transacao"])
    tickets = sales.groupby("cod_transacao", sort=False)
    first = tickets[["cod_loja", "data_venda"]].first()
    pairs = [(pair["sku_a"], pair["sku_b"], pair["p_b_given_a"]) for pair in truth["complementary_pairs"]]
    return tickets["cod_prod"].apply(list).tolist(), Truth(
        first["cod_loja"].to_numpy(), pd.to_datetime(first["data_venda"]).dt.normalize().to_numpy(), pairs,
        promotion_factor(promotions, category, stores, truth))


def promotion_factor(promotions: pd.DataFrame, category: pd.Series, stores: list[str], truth: dict) -> pd.DataFrame:
    """(store, day, sku, discount, factor) for every promoted SKU-day: the deepest discount running
    at the store or chain-wide (a fraction: what the retailer's promotions file says), and the
    generator's acceptance ratio it gives."""
    days = [pd.date_range(a, b, freq="D") for a, b in zip(promotions["data_inicio"], promotions["data_fim"])]
    rows = promotions.assign(day=days).explode("day").astype({"day": "datetime64[ns]"})
    rows = rows.assign(store=[[s] if s else stores for s in rows["cod_loja"]]).explode("store")
    rows = rows.groupby(["store", "day", "cod_prod"], as_index=False)["desconto_pct"].max()
    seasons = truth["category_season"]
    month = pd.to_datetime(rows["day"]).dt.month
    season = np.array([seasons[c]["lift"] if c in seasons and m in seasons[c]["months"] else 1.0
                       for c, m in zip(category.reindex(rows["cod_prod"]).to_numpy(), month)])
    lifted = np.minimum(season * (1 + truth["promo_lift_per_discount_pct"] * rows["desconto_pct"]), 2.5)
    return rows.rename(columns={"cod_prod": "sku"}).assign(
        discount=rows["desconto_pct"] / 100, factor=lifted / np.minimum(season, 2.5))[["store", "day", "sku", "discount", "factor"]]


def hidden_items(test: list[list[str]], seed: int) -> list[tuple[list[str], str, int]]:
    """(the rest of the basket, the hidden SKU, the basket's position in ``test``) per test case."""
    rng = np.random.default_rng(seed)
    out = []
    for position, basket in enumerate(test):
        basket = list(dict.fromkeys(basket))
        if len(basket) >= 2:
            hidden = basket[rng.integers(len(basket))]
            out.append(([s for s in basket if s != hidden], hidden, position))
    if len(out) > TEST_BASKETS:
        out = [out[i] for i in np.sort(rng.choice(len(out), TEST_BASKETS, replace=False))]
    return out


def planted_oracle(baskets: list[list[str]], truth: Truth, cases: list[tuple[list[str], str, int]],
                   case_baskets: np.ndarray) -> float:
    """HitRate@10 of the generator's own basket model, as far as a basket shows it. SKUs join a
    basket independently, each with its base chance that month (read on every basket, the test's
    included: an oracle knows it) times its promotion's lift at the basket's store and day, except
    the planted pairs: b joins a basket holding a with the true P(b | a). Under independence the
    hidden SKU's posterior is proportional to the odds of its inclusion given the rest of the
    basket, so the oracle ranks by those odds. Left out: stock-outs, which no recommender is told
    either. ``case_baskets``: each case's position in ``baskets``."""
    skus = sorted({s for basket in baskets for s in basket})
    index = {s: i for i, s in enumerate(skus)}
    months = truth.day.astype("datetime64[M]")
    month_names, month_of = np.unique(months, return_inverse=True)
    counts = np.zeros((len(month_names), len(skus)))
    for basket, month in zip(baskets, month_of):
        counts[month, [index[s] for s in set(basket)]] += 1
    for a, b, p in truth.pairs:  # b's own chance, without what the pair added
        if a in index and b in index:
            counts[:, index[b]] = np.maximum(counts[:, index[b]] - p * counts[:, index[a]], 0.0)
    # exposure: the baskets each SKU could join that month, a promoted store-day counting its lift
    exposure = np.repeat(np.bincount(month_of, minlength=len(month_names))[:, None], len(skus), axis=1).astype(float)
    per_store_day = pd.Series(1, index=pd.MultiIndex.from_arrays([truth.store, truth.day])).groupby(level=[0, 1]).sum()
    factor = truth.factor[truth.factor["sku"].isin(index)]
    seen = per_store_day.reindex(pd.MultiIndex.from_frame(factor[["store", "day"]])).fillna(0).to_numpy()
    np.add.at(exposure, (np.searchsorted(month_names, factor["day"].to_numpy().astype("datetime64[M]")),
                         factor["sku"].map(index).to_numpy()), seen * (factor["factor"].to_numpy() - 1))
    base = counts / exposure
    lifts = factor.groupby(["store", "day"])[["sku", "factor"]].apply(lambda g: (g["sku"].map(index).to_numpy(), g["factor"].to_numpy()))
    pairs = [(index[a], index[b], p) for a, b, p in truth.pairs if a in index and b in index]
    hits = 0
    for (query, hidden, _), position in zip(cases, case_baskets):
        chance = base[month_of[position]].copy()
        promoted = lifts.get((truth.store[position], truth.day[position]))
        if promoted is not None:
            chance[promoted[0]] *= promoted[1]
        present = np.zeros(len(skus), bool)
        present[[index[q] for q in query if q in index]] = True
        for a, b, p in pairs:
            with_a = p + (1 - p) * chance[b]
            if present[a] and not present[b]:
                chance[b] = with_a
            elif present[b] and not present[a]:  # Bayes: P(a | b) = P(a) P(b | a) / P(b)
                chance[a] = chance[a] * with_a / max(chance[a] * with_a + (1 - chance[a]) * chance[b], 1e-9)
        chance = np.minimum(chance, 1 - 1e-6)
        odds = np.where(present, -np.inf, chance / (1 - chance))
        target = odds[index[hidden]] if hidden in index else -np.inf
        hits += int((odds > target).sum() < 10)
    return hits / len(cases)


def promotion_boosted(recommender, baskets: list[list[str]], truth: Truth, train_baskets: np.ndarray,
                      cases: list[tuple[list[str], str, int]], case_baskets: np.ndarray) -> tuple[float, dict[float, float]]:
    """HitRate@10 of the served blend with each SKU on promotion at the basket's store and day
    scored × its promotion's lift, the lift learnt on the training baskets from the promotions
    file alone (no truth): per discount, the promoted SKUs' inclusions over what their month's
    rate off promotion expects. (HitRate@10, the lift by discount.) Rules and stock are left
    out, as in the served hit rate of this benchmark (no catalogue, no stock)."""
    months = truth.day.astype("datetime64[M]")
    on_promotion = {key: dict(zip(part["sku"], part["discount"]))
                    for key, part in truth.factor.groupby(["store", "day"])}
    per_month = pd.Series(months[train_baskets]).value_counts()
    included = pd.Series([(months[i], s) for i in train_baskets for s in set(baskets[i])]).value_counts()
    observed: dict[float, float] = {}
    expected: dict[float, float] = {}
    for i in train_baskets:
        promoted = on_promotion.get((truth.store[i], truth.day[i]))
        if not promoted:
            continue
        basket = set(baskets[i])
        for sku, discount in promoted.items():
            rate = included.get((months[i], sku), 0) / per_month[months[i]]
            observed[discount] = observed.get(discount, 0.0) + (sku in basket)
            expected[discount] = expected.get(discount, 0.0) + rate
    lift = {d: observed[d] / expected[d] for d in sorted(observed) if expected[d] > 0}
    hits = 0
    for (query, hidden, _), i in zip(cases, case_baskets):
        relevance, cols = recommender.relevance(query)
        relevance = relevance.astype(float)
        for sku, discount in (on_promotion.get((truth.store[i], truth.day[i])) or {}).items():
            if sku in recommender.column:
                relevance[recommender.column[sku]] *= lift.get(discount, 1.0)
        relevance[cols] = -np.inf
        if hidden in recommender.column:  # an SKU unseen in training is a miss, as for every scorer
            hits += int((relevance > relevance[recommender.column[hidden]]).sum() < 10)
    return hits / len(cases), lift


def single_scorers(train: list[list[str]], cases: list[tuple[list[str], str, int]]) -> dict[str, float]:
    """HitRate@10 of each scorer of the pool alone, fitted on every training basket."""
    skus, cols = np.unique(np.concatenate([np.asarray(list(dict.fromkeys(b)), dtype=object) for b in train]).astype(str),
                           return_inverse=True)
    lengths = [len(dict.fromkeys(b)) for b in train]
    matrix = basket_matrix(np.repeat(np.arange(len(train)), lengths), cols, len(train), len(skus))
    index = {s: i for i, s in enumerate(skus)}
    known = [(q, h) for q, h, _ in cases if h in index]
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


def run(name: str, baskets: list[list[str]], split: str, truth: Truth | None) -> None:
    rng = np.random.default_rng(3)
    if split == "temporal":
        cut = int(len(baskets) * 0.8)
        in_test = np.arange(len(baskets)) >= cut
    else:
        in_test = rng.random(len(baskets)) >= 0.8
    train = [b for b, t in zip(baskets, in_test) if not t]
    test = [b for b, t in zip(baskets, in_test) if t]
    cases = hidden_items(test, seed=4)
    started = time.perf_counter()
    recommender = fit_recommender(train)
    fit_seconds = time.perf_counter() - started
    latencies, hits, short = [], 0, 0
    for query, hidden, _ in cases:
        started = time.perf_counter()
        suggested = recommender.complete(query, k=10)
        latencies.append(time.perf_counter() - started)
        hits += hidden in suggested
        short += len(suggested) < min(10, len(recommender.skus) - len(set(query) & set(recommender.skus)))
    served = hits / len(cases)
    singles = single_scorers(train, cases)
    best = max(singles, key=singles.get)
    three = [q for q, _, _ in cases if len(q) >= 3][:2000]
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
    if truth is not None:
        positions = np.flatnonzero(in_test)[[position for _, _, position in cases]]
        oracle = planted_oracle(baskets, truth, cases, positions)
        print(f"  the generator's own basket model {oracle:.4f} = {oracle / singles[best]:.3f} x the best single member")
        boosted, lift = promotion_boosted(recommender, baskets, truth, np.flatnonzero(~in_test), cases, positions)
        print(f"  served x its promotions' learnt lift {boosted:.4f} = {boosted / singles[best]:.3f} x the best single member "
              f"(lift by discount: {', '.join(f'{d:.0%} {x:.2f}' for d, x in lift.items())})")
    print(f"served / best single ({best}) = {served / singles[best]:.3f}; lists shorter than k: {short}; "
          f"fit {fit_seconds:.1f} s; complete() on 3 items p50 {np.percentile(timing, 50) * 1e3:.2f} ms, "
          f"p99 {np.percentile(timing, 99) * 1e3:.2f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="online_retail,small,medium")
    parser.add_argument("--splits", default="temporal,random")
    args = parser.parse_args()
    for dataset in args.datasets.split(","):
        baskets, truth = (online_retail(), None) if dataset == "online_retail" else generated(dataset)
        for split in args.splits.split(","):
            run(dataset, baskets, split, truth)


if __name__ == "__main__":
    main()
