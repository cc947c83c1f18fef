"""How cross-sell scorers are judged: a temporal split and hidden basket items.

Protocol (one harness for ALS and the baselines):
- **Temporal split**: baskets sold in the last ``test_days`` are the test set; scorers are fitted
  on the baskets before. The hyper-parameter search uses the same split one window earlier.
- **Hide one**: in each test basket of 2+ SKUs one SKU, drawn at random, is hidden; the scorer sees
  the rest and ranks every SKU not already in the query. HitRate@k (the hidden SKU in the top k),
  NDCG@k (1 / log2(1 + rank) when in the top k), MRR (1 / rank over the whole catalogue; tied
  scores share the expected rank) and
  catalogue coverage (share of SKUs that appear in any top k).
- **Hide half**: half of each basket's SKUs (at least one) are hidden; Recall@k is the share of
  hidden SKUs found in the top k (with one hidden SKU it would equal the hit rate).
A hidden SKU that the training baskets never saw is a miss for every scorer alike; query SKUs
never seen are dropped from the query (what the live recommender does too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.basket_models import basket_matrix

if TYPE_CHECKING:
    from models.crosssell import CrossSell

Scorer = Callable[[sp.csr_matrix], np.ndarray]
CHUNK = 2048


@dataclass(frozen=True)
class ItemIndex:
    """Dense column index of the SKUs the training baskets hold (sorted by SKU)."""

    skus: np.ndarray

    @classmethod
    def of(cls, lines: pd.DataFrame) -> ItemIndex:
        return cls(np.sort(lines["sku"].astype(str).unique()))

    def __len__(self) -> int:
        return len(self.skus)

    def columns(self, skus: pd.Series | np.ndarray) -> np.ndarray:
        """Column of each SKU, -1 where the index does not know it."""
        values = np.asarray(skus, dtype=str)
        if not len(self.skus):
            return np.full(len(values), -1)
        pos = np.searchsorted(self.skus, values).clip(max=len(self.skus) - 1)
        return np.where(self.skus[pos] == values, pos, -1)

    def matrix(self, lines: pd.DataFrame) -> sp.csr_matrix:
        """Binary ticket × SKU matrix of ``lines`` (SKUs outside the index are left out)."""
        cols = self.columns(lines["sku"])
        rows = pd.factorize(lines["ticket_id"])[0]
        keep = cols >= 0
        return basket_matrix(rows[keep], cols[keep], int(rows.max() + 1) if len(rows) else 0, len(self))


def temporal_split(lines: pd.DataFrame, test_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(before, last ``test_days``) by the basket's day."""
    days = pd.to_datetime(lines["sold_on"])
    cut = days.max() - pd.Timedelta(days=test_days)
    return lines[days <= cut], lines[days > cut]


@dataclass
class HiddenItems:
    """Query baskets with hidden SKUs: ``hidden`` is a CSR of the same shape (one or more per row)."""

    queries: sp.csr_matrix
    hidden: sp.csr_matrix
    unknown_hidden: np.ndarray  # per row: hidden SKUs the training baskets never saw (always misses)


def hide_items(test: pd.DataFrame, index: ItemIndex, share: float | None, seed: int, max_baskets: int
               ) -> HiddenItems:
    """Hide one SKU per basket (``share=None``) or that share of each basket's SKUs (at least one)."""
    rng = np.random.default_rng(seed)
    lines = test[["ticket_id", "sku"]].drop_duplicates()
    size = lines.groupby("ticket_id")["sku"].transform("size")
    lines = lines[size >= 2]
    tickets = lines["ticket_id"].unique()
    if len(tickets) > max_baskets:
        tickets = rng.choice(tickets, max_baskets, replace=False)
        lines = lines[lines["ticket_id"].isin(tickets)]
    lines = lines.assign(draw=rng.random(len(lines))).sort_values(["ticket_id", "draw"])
    position = lines.groupby("ticket_id").cumcount().to_numpy()
    size = lines.groupby("ticket_id")["sku"].transform("size").to_numpy()
    n_hidden = np.ones_like(size) if share is None else np.maximum(1, np.floor(size * share)).astype(int)
    is_hidden = position < n_hidden
    rows = pd.factorize(lines["ticket_id"])[0]
    cols = index.columns(lines["sku"])
    n = int(rows.max() + 1) if len(rows) else 0
    known = cols >= 0
    queries = basket_matrix(rows[~is_hidden & known], cols[~is_hidden & known], n, len(index))
    hidden = basket_matrix(rows[is_hidden & known], cols[is_hidden & known], n, len(index))
    unknown = np.bincount(rows[is_hidden & ~known], minlength=n)
    return HiddenItems(queries, hidden, unknown)


def rank_metrics(scorer: Scorer, items: HiddenItems, k: int = 10) -> dict[str, float]:
    """HitRate@k, NDCG@k, MRR and coverage@k for one hidden SKU per basket (see the module docstring)."""
    n = items.queries.shape[0]
    if n == 0:
        raise ValueError("no test basket with two or more SKUs to evaluate on")
    hits = ndcg = mrr = 0.0
    shown = np.zeros(items.queries.shape[1], dtype=bool)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        scores = _masked(scorer, items.queries[start:stop])
        hidden = items.hidden[start:stop]
        has = np.diff(hidden.indptr) > 0
        col = np.zeros(stop - start, dtype=np.int64)
        col[has] = hidden.indices[hidden.indptr[:-1][has]]
        target = scores[np.arange(stop - start), col]
        # ties count half: a scorer that cannot tell SKUs apart gets the expected rank, not the best one
        ties = (scores == target[:, None]).sum(axis=1) - 1
        rank = 1 + (scores > target[:, None]).sum(axis=1) + ties / 2
        rank = np.where(has, rank, np.inf)
        hits += float((rank <= k).sum())
        ndcg += float(np.where(rank <= k, 1 / np.log2(1 + rank), 0).sum())
        mrr += float((1 / rank).sum())
        top = np.argpartition(-scores, k, axis=1)[:, :k] if scores.shape[1] > k else np.indices(scores.shape)[1]
        shown[np.unique(top)] = True
    return {f"hit_rate_{k}": hits / n, f"ndcg_{k}": ndcg / n, "mrr": mrr / n, f"coverage_{k}": float(shown.mean())}


def recall_at(scorer: Scorer, items: HiddenItems, k: int = 10) -> float:
    """Mean over baskets of (hidden SKUs in the top k) / (hidden SKUs, unknown ones included)."""
    n = items.queries.shape[0]
    if n == 0:
        raise ValueError("no test basket with two or more SKUs to evaluate on")
    total = 0.0
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        scores = _masked(scorer, items.queries[start:stop])
        top = np.argpartition(-scores, k, axis=1)[:, :k] if scores.shape[1] > k else np.indices(scores.shape)[1]
        hidden = items.hidden[start:stop]
        in_top = np.zeros(hidden.shape, dtype=bool)
        np.put_along_axis(in_top, top, True, axis=1)
        found = np.asarray(hidden.multiply(in_top).sum(axis=1)).ravel()
        wanted = np.diff(hidden.indptr) + items.unknown_hidden[start:stop]
        total += float((found / np.maximum(wanted, 1)).sum())
    return total / n


def _masked(scorer: Scorer, queries: sp.csr_matrix) -> np.ndarray:
    """Scores with the query's own SKUs pushed to the bottom (never suggested back)."""
    scores = np.asarray(scorer(queries), dtype=np.float64)
    rows = np.repeat(np.arange(queries.shape[0]), np.diff(queries.indptr))
    scores[rows, queries.indices] = -np.inf
    return scores


def evaluate(scorers: dict[str, Scorer], one: HiddenItems, half: HiddenItems, k: int = 10) -> pd.DataFrame:
    """One row per scorer: the rank metrics, Recall@k and the number of test baskets."""
    rows = []
    for name, scorer in scorers.items():
        rows.append({"model": name, **rank_metrics(scorer, one, k), f"recall_{k}": recall_at(scorer, half, k),
                     "baskets": one.queries.shape[0]})
    return pd.DataFrame(rows)


def served_metrics(served: CrossSell, items: HiddenItems, k: int = 10) -> dict[str, float]:
    """HitRate@k of the served recommender, business rules included, asked as a seller asks it
    (``complete`` on each query basket), and the margin-weighted hit rate: hits weighted by the
    hidden SKU's margin share, over the baskets whose hidden SKU has a known margin (NaN when
    none has: a catalogue without costs)."""
    n = items.queries.shape[0]
    if n == 0:
        raise ValueError("no test basket with two or more SKUs to evaluate on")
    hits = np.zeros(n)
    margins = np.full(n, np.nan)
    for row in range(n):
        hidden = items.hidden.indices[items.hidden.indptr[row]:items.hidden.indptr[row + 1]]
        if not len(hidden):
            continue  # a hidden SKU the training baskets never saw: a miss
        basket = served.skus[items.queries.indices[items.queries.indptr[row]:items.queries.indptr[row + 1]]]
        suggested = {s.sku for s in served.complete(list(basket), None, k).items}
        hits[row] = served.skus[hidden[0]] in suggested
        margins[row] = served.margin[hidden[0]]  # the harness numbers SKUs as the recommender does
    known = np.isfinite(margins)
    weight = np.clip(margins[known], 0, None)
    margin_hits = float((hits[known] * weight).sum() / weight.sum()) if weight.sum() > 0 else float("nan")
    return {f"hit_rate_{k}": float(hits.mean()), f"margin_hit_rate_{k}": margin_hits}
