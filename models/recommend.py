"""Cross-sell on plain baskets: ``fit_recommender`` chooses and blends its scorers on the
retailer's own baskets.

The pool: popularity, co-occurrence P(j | i), lift shrunk by support, item-kNN (cosine), EASE
(Steck, 2019: a closed-form item × item regression, strong on small catalogues) and ALS
(implicit) in two sizes. Which wins depends on the data's shape: on a ~170-item grocery set ALS
ranks no better than chance while co-occurrence is strong; on ~4,000 gift items ALS leads. So
nothing is fixed in advance:

1. **Validation windows, in time order.** The last 20% of baskets form two windows. The scorers
   are fitted once on every basket before the first, and rank one hidden item of each basket of
   both windows from the rest of the basket (HitRate@10): the second window tells how a choice
   holds further ahead. (Fitting again before the second window served no better on
   benchmarks/bench_recommender.py, Online Retail and the generator, both splits, and its ALS
   refits were a large share of the fit's time.) The served scorers are then refitted on every
   basket, ALS from its factors.
2. **Stepwise blend** of per-basket rescaled scores: start from the best single scorer, then mix
   in another at a share of 10–50% only when that raises the mean hit rate over both windows by
   at least ``MIN_GAIN`` (noise between windows is not a reason to complicate the model). So on
   validation the blend is never below the best single scorer.
3. **Rules measured, not assumed.** Out of stock is a hard rule. Diversity (at most
   ``max_per_group`` suggestions from one subcategory) applies only among real groups — SKUs
   without a category are not one group — and only if its validation cost is within
   ``RULE_BUDGET``. Colour or size variants are never removed: customers do buy them together.

The list always holds ``k`` SKUs when the catalogue has ``k`` candidates beyond the basket.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.basket_models import (
    TIE_BREAK,
    Als,
    AlsParams,
    Cooccurrence,
    Popularity,
    basket_matrix,
    dense_rows,
    row_unit,
    shrunk_lift,
)

VALIDATION_SHARE = 0.2
WINDOWS = 2
MAX_VALIDATION = 3000  # hidden items per window
MIN_GAIN = 0.002  # HitRate@10 an extra blend member must add
STEPS = (0.1, 0.2, 0.3, 0.5)  # shares a scorer may join the blend with
RULE_BUDGET = 0.01  # relative HitRate@10 a soft rule may cost
EASE_MAX_ITEMS = 6000  # EASE inverts an items × items matrix


class Lift:
    """Σ over basket SKUs of lift(i, j) × pairs / (pairs + 10): "bought together more than chance"."""

    name = "lift"

    def fit(self, matrix: sp.csr_matrix) -> Lift:
        cooc = Cooccurrence().fit(matrix)
        counts = cooc.counts.tocoo()
        shrunk = shrunk_lift(counts.data, cooc.item_baskets[counts.row], cooc.item_baskets[counts.col], cooc.baskets)
        self.similarity = sp.csr_matrix((shrunk.astype(np.float32), (counts.row, counts.col)), shape=counts.shape)
        self.share = cooc.share
        return self

    def scores(self, queries: sp.csr_matrix) -> np.ndarray:
        if queries.shape[0] == 1:
            return (queries.data @ dense_rows(self.similarity, queries.indices))[None, :] + TIE_BREAK * self.share
        return (queries @ self.similarity).toarray() + TIE_BREAK * self.share


class Ease:
    """EASE: B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, diagonal zeroed; scores = query · B."""

    name = "ease"

    def __init__(self, strength: float = 0.25) -> None:
        self.strength = strength  # λ as a share of the mean item count

    def fit(self, matrix: sp.csr_matrix) -> Ease:
        gram = (matrix.T @ matrix).toarray().astype(np.float64)
        diagonal = np.diag_indices_from(gram)
        gram[diagonal] += self.strength * max(gram[diagonal].mean(), 1.0)
        precision = np.linalg.inv(gram)
        weights = -precision / np.diag(precision)[None, :]
        weights[diagonal] = 0.0
        self.weights = weights.astype(np.float32)
        self.share = Popularity().fit(matrix).share
        return self

    def scores(self, queries: sp.csr_matrix) -> np.ndarray:
        if queries.shape[0] == 1:  # a live basket: its few rows summed
            return (queries.data @ self.weights[queries.indices])[None, :] + TIE_BREAK * self.share
        return np.asarray(queries @ self.weights) + TIE_BREAK * self.share


def candidates(n_items: int) -> list:
    """The scorers for a catalogue of ``n_items``: ALS sized to it (a few factors per hundred items)."""
    small = AlsParams(factors=max(8, min(64, n_items // 25)), regularization=16.0)
    large = AlsParams(factors=128, regularization=2.0, alpha=40.0, weighting="bm25")
    pool = [Popularity(), Cooccurrence("conditional"), Cooccurrence("cosine"), Lift(), Als(small), Als(large)]
    for als, label in zip(pool[-2:], ("als_sized", "als_large")):
        als.name = label
    if n_items <= EASE_MAX_ITEMS:
        pool.append(Ease())
    return pool


@dataclass
class Window:
    """One validation window: query baskets (the rest of each basket) and the hidden item."""

    queries: sp.csr_matrix
    hidden: np.ndarray
    scores: dict[str, np.ndarray] = field(default_factory=dict)  # scorer → unit-rescaled rows


def hit_rate(scores: np.ndarray, window: Window, k: int = 10) -> float:
    """Share of hidden items ranked in the top ``k`` among the SKUs not already in the basket."""
    blocked = window.queries.toarray() > 0
    target = scores[np.arange(len(window.hidden)), window.hidden]
    ahead = ((scores > target[:, None]) & ~blocked).sum(axis=1)
    return float(np.mean(ahead < k))


def _windows(matrix: sp.csr_matrix, seed: int) -> list[tuple[int, Window]]:
    """(first validation basket, window) pairs over the last VALIDATION_SHARE of baskets."""
    rng = np.random.default_rng(seed)
    n = matrix.shape[0]
    edges = np.linspace(int(n * (1 - VALIDATION_SHARE)), n, WINDOWS + 1).astype(int)
    out = []
    for start, end in itertools.pairwise(edges):
        block = matrix[start:end]
        rows = np.flatnonzero(np.diff(block.indptr) >= 2)
        if len(rows) > MAX_VALIDATION:
            rows = np.sort(rng.choice(rows, MAX_VALIDATION, replace=False))
        if len(rows) < 20:
            continue
        queries = block[rows].tolil(copy=True)
        hidden = np.empty(len(rows), int)
        for n_row, items in enumerate(queries.rows):
            hidden[n_row] = items[rng.integers(len(items))]
            queries[n_row, hidden[n_row]] = 0
        queries = queries.tocsr()
        queries.eliminate_zeros()
        out.append((start, Window(queries, hidden)))
    return out


def greedy_blend(windows: list[Window], names: list[str]) -> dict[str, float]:
    """Scorer weights by forward stepwise blending: the best single scorer, then, while it raises
    the mean hit rate by at least MIN_GAIN, the mix ``(1 − a) × blend + a × scorer`` with the best
    scorer and share ``a`` of STEPS."""
    def mean_hit(weights: dict[str, float]) -> float:
        return float(np.mean([hit_rate(sum(w * win.scores[n] for n, w in weights.items()), win) for win in windows]))

    single = {name: mean_hit({name: 1.0}) for name in names}
    best = max(single, key=single.get)
    weights, score = {best: 1.0}, single[best]
    for _ in range(4):
        trials = {}
        for name in names:
            for share in STEPS:
                mixed = {n: w * (1 - share) for n, w in weights.items()}
                mixed[name] = mixed.get(name, 0.0) + share
                trials[(name, share)] = (mean_hit(mixed), mixed)
        key = max(trials, key=lambda k: trials[k][0])
        if trials[key][0] < score + MIN_GAIN:
            break
        score, weights = trials[key]
    return {n: w for n, w in weights.items() if w > 0}


@dataclass
class Recommender:
    """A fitted blend; ``complete`` ranks what goes with a basket."""

    skus: np.ndarray
    scorers: dict[str, object]
    weights: dict[str, float]
    validation: dict[str, float]  # HitRate@10 of each scorer and of the blend
    groups: np.ndarray | None = None  # subcategory (or category) per SKU; "" = none
    max_per_group: int | None = None
    in_stock: dict[str, np.ndarray] = field(default_factory=dict)  # store → bool per SKU
    labels: np.ndarray | None = None  # each SKU as the caller wrote it (an int stays an int)
    rule_costs: dict[str, float] = field(default_factory=dict)  # soft rule → relative HitRate@10 it cost

    def __post_init__(self) -> None:
        self.column = {sku: i for i, sku in enumerate(self.skus)}

    def scores(self, queries: sp.csr_matrix) -> np.ndarray:
        return sum(w * row_unit(self.scorers[name].scores(queries)) for name, w in self.weights.items())

    def relevance(self, basket: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """(the blend's score of every SKU for ``basket``, the columns of the basket's known SKUs)."""
        cols = sorted({self.column[str(s)] for s in basket if str(s) in self.column})
        query = sp.csr_matrix((np.ones(len(cols), np.float32), (np.zeros(len(cols), int), cols)),
                              shape=(1, len(self.skus)))
        return self.scores(query)[0], cols

    def complete(self, basket: Sequence[str], k: int = 10, store_id: str | None = None) -> list[str]:
        """Up to ``k`` SKUs to suggest for ``basket``, best first (unknown SKUs are ignored)."""
        relevance, cols = self.relevance(basket)
        allowed = np.ones(len(self.skus), bool)
        allowed[cols] = False
        if store_id is not None and str(store_id) in self.in_stock:
            allowed &= self.in_stock[str(store_id)]
        labels = self.labels if self.labels is not None else self.skus
        return [labels[i] for i in pick(relevance, allowed, k, self.groups, self.max_per_group)]


def pick(relevance: np.ndarray, allowed: np.ndarray, k: int, groups: np.ndarray | None,
         max_per_group: int | None) -> list[int]:
    """The ``k`` best allowed columns; with a group cap, a group's extra members wait until the
    list would otherwise fall short (a list is never shorter than the candidates allow)."""
    order = np.flatnonzero(allowed)
    top = order[np.argsort(-relevance[order], kind="stable")[: max(4 * k, k + 50)]] if len(order) else order
    if groups is None or max_per_group is None:
        return top[:k].tolist()
    chosen, waiting, per_group = [], [], {}
    for i in top:
        group = groups[i]
        if group and per_group.get(group, 0) >= max_per_group:
            waiting.append(i)
            continue
        per_group[group] = per_group.get(group, 0) + 1
        chosen.append(i)
        if len(chosen) == k:
            return chosen
    return (chosen + waiting)[:k]


def _numbered(baskets: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """The SKUs sorted, and each basket line's SKU as its number among them (np.unique's answer,
    without a fixed-width copy of every line: millions of lines at chain scale)."""
    lines = np.fromiter(itertools.chain.from_iterable(baskets), dtype=object, count=sum(len(b) for b in baskets))
    codes, seen = pd.factorize(lines)
    skus, rank = np.unique(seen.astype(str), return_inverse=True)  # the distinct SKUs only: a catalogue's worth
    return skus, rank[codes]


def fit_recommender(baskets: Iterable[Sequence[str]], catalogue: pd.DataFrame | None = None,
                    stock: pd.DataFrame | None = None, max_per_group: int = 2, seed: int = 7) -> Recommender:
    """Fit the blend on ``baskets`` (oldest first; each a sequence of SKU ids; a missing id, None
    or NaN, is skipped).

    ``catalogue``: optional ``sku, name, category, subcategory, brand, margin``; its
    subcategory (else category) is the diversity group. ``stock``: optional ``store_id, sku,
    on_hand``; a SKU with nothing on hand at a store is never suggested there.
    """
    # read twice below (a generator would be empty the second time); a missing SKU id (None, NaN,
    # an export's empty cell) is no product, so it is neither learnt nor ever suggested
    baskets = [[sku for sku in basket if not _missing(sku)] for basket in baskets]
    written: dict[str, object] = {}  # SKU ids are matched as text and answered as the caller wrote them
    for basket in baskets:
        for sku in basket:
            written.setdefault(str(sku), sku.item() if isinstance(sku, np.generic) else sku)
    baskets = [b for b in (list(dict.fromkeys(str(s) for s in b)) for b in baskets) if b]
    if len(baskets) < 10:
        raise ValueError(f"{len(baskets)} non-empty baskets: at least 10 are needed to learn what goes together")
    skus, cols = _numbered(baskets)
    rows = np.repeat(np.arange(len(baskets)), [len(b) for b in baskets])
    matrix = basket_matrix(rows, cols, len(baskets), len(skus))
    pool = candidates(len(skus))
    names = [s.name for s in pool]
    windows = _windows(matrix, seed)
    if windows:  # fitted once on the baskets before the first window: the second is a farther horizon
        for scorer in pool:
            scorer.fit(matrix[:windows[0][0]])
            for _, window in windows:
                window.scores[scorer.name] = row_unit(scorer.scores(window.queries))
    validation: dict[str, float] = {}
    if windows:
        only = [w for _, w in windows]
        weights = greedy_blend(only, names)
        validation = {n: float(np.mean([hit_rate(w.scores[n], w) for w in only])) for n in names}
        validation["blend"] = float(np.mean([hit_rate(sum(x * w.scores[n] for n, x in weights.items()), w)
                                             for w in only]))
    else:  # too few baskets to validate: co-occurrence, the strongest simple scorer on small data
        weights = {"cooccurrence": 1.0}
    scorers = {s.name: s.fit(matrix) for s in pool if s.name in weights}  # ALS: from its factors
    groups = _groups(skus, catalogue)
    in_stock = _stock(skus, stock)
    labels = np.empty(len(skus), dtype=object)
    labels[:] = [written[sku] for sku in skus]
    recommender = Recommender(skus, scorers, weights, validation, groups, None, in_stock, labels)
    if groups is not None and windows:
        cost = _rule_cost(recommender, windows, max_per_group)
        recommender.rule_costs["max_per_group"] = cost
        recommender.max_per_group = max_per_group if cost <= RULE_BUDGET else None
    return recommender


def _missing(sku: object) -> bool:
    """A basket line without a SKU id: None, NaN, pd.NA or NaT."""
    return sku is None or sku is pd.NA or sku is pd.NaT or (isinstance(sku, float | np.floating) and np.isnan(sku))


def _groups(skus: np.ndarray, catalogue: pd.DataFrame | None) -> np.ndarray | None:
    if catalogue is None or "sku" not in catalogue:
        return None
    table = catalogue.assign(sku=catalogue["sku"].astype(str)).drop_duplicates("sku").set_index("sku")
    group = pd.Series("", index=table.index)
    for column in ("category", "subcategory"):  # the finer one wins where both exist
        if column in table:
            named = table[column].fillna("").astype(str).str.strip()
            group = group.where(named == "", named)
    groups = group.reindex(skus).fillna("").to_numpy(dtype=object)
    return groups if (groups != "").any() else None


def _stock(skus: np.ndarray, stock: pd.DataFrame | None) -> dict[str, np.ndarray]:
    if stock is None or stock.empty:
        return {}
    missing = {"store_id", "sku", "on_hand"} - set(stock.columns)
    if missing:
        raise ValueError(f"stock lacks column(s) {', '.join(sorted(missing))}: expected store_id, sku, on_hand")
    out = {}
    index = {sku: i for i, sku in enumerate(skus)}
    for store, rows in stock.groupby("store_id"):
        ok = np.ones(len(skus), bool)  # a SKU the stock file does not list is not known to be out
        for sku, on_hand in zip(rows["sku"].astype(str), rows["on_hand"]):
            if sku in index and on_hand <= 0:
                ok[index[sku]] = False
        out[str(store)] = ok
    return out


def _rule_cost(recommender: Recommender, windows: list[tuple[int, Window]], cap: int) -> float:
    """Relative HitRate@10 lost on validation by capping each group at ``cap`` suggestions."""
    plain = capped = 0
    for _, window in windows:
        blend = sum(w * window.scores[n] for n, w in recommender.weights.items())
        blocked = window.queries.toarray() > 0
        for row, hidden in enumerate(window.hidden):
            allowed = ~blocked[row]
            plain += hidden in pick(blend[row], allowed, 10, None, None)
            capped += hidden in pick(blend[row], allowed, 10, recommender.groups, cap)
    return (plain - capped) / max(plain, 1)
