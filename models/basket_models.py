"""Basket scorers: given the SKUs already in a basket, a relevance score for every SKU of the catalogue.

The scorers share one interface (``fit`` on a basket × item matrix, ``scores`` for a batch of
query baskets) so the evaluation harness ranks them the same way:

- ``Popularity``: baskets containing the SKU. The floor any recommender must clear.
- ``Cooccurrence``: for each basket SKU *i*, the share of *i*'s baskets that also hold *j*
  (P(j | i)), summed over the basket; ``normalise="cosine"`` divides by √(n_i n_j) instead
  (item-kNN). Strong on small catalogues and the source of the reasons sellers read.
- ``Als``: implicit's alternating least squares on the weighted basket × item matrix; a live
  basket is folded in with ``recalculate_user`` (its factors solved against the fixed item
  factors), so an anonymous customer's basket needs no retraining.

Which of them (and of models/recommend.py's lift and EASE) is served, and in what mix, is chosen
per retailer on validation baskets by ``models.recommend.fit_recommender``.

Matrices are binary (a SKU is in a basket or not: two units of a shampoo are not a stronger
signal of what goes with it). Weighting for ALS (``bm25``, ``tfidf`` or ``none``) is computed here
from the training matrix's item frequencies and applied the same way to live baskets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

WEIGHTINGS = ("bm25", "tfidf", "none")
TIE_BREAK = 1e-6  # popularity share added to every score: empty or unknown baskets still rank sensibly
# ALS learns from the newest baskets of two SKUs or more, up to this many: while fitting it holds a
# factor row per basket (128 floats for the large configuration), which at chain scale was the
# driver's largest allocation (+0.7 GiB for medium's 1M baskets); 400,000 still give every SKU of a
# catalogue of thousands hundreds of baskets
ALS_MAX_BASKETS = 400_000
# a refit of the same catalogue on more baskets (fit_recommender's served fit on every basket, after
# the validation fit on the older ones) starts from the last fit's item factors: the baskets before
# are the same, so a few sweeps reach what a cold start reaches in AlsParams.iterations
REFIT_ITERATIONS = 5


def basket_matrix(basket_rows: np.ndarray, item_cols: np.ndarray, n_baskets: int, n_items: int) -> sp.csr_matrix:
    """Binary basket × item CSR matrix from (row, column) pairs; repeated pairs count once."""
    matrix = sp.csr_matrix((np.ones(len(basket_rows), dtype=np.float32), (basket_rows, item_cols)),
                           shape=(n_baskets, n_items))
    matrix.data[:] = 1.0
    return matrix


@dataclass(frozen=True)
class Weighting:
    """BM25 / TF-IDF weights of a binary basket matrix, fitted once on the training baskets."""

    scheme: str
    idf: np.ndarray
    mean_length: float
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def fit(cls, matrix: sp.csr_matrix, scheme: str) -> Weighting:
        if scheme not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {scheme!r}; use one of {', '.join(WEIGHTINGS)}")
        n = max(matrix.shape[0], 1)
        df = np.bincount(matrix.indices, minlength=matrix.shape[1])
        idf = np.log(n / (1.0 + df)).clip(min=0.0).astype(np.float32) + np.float32(1e-3)
        return cls(scheme, idf, float(matrix.getnnz() / n) or 1.0)

    def apply(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """Weighted copy of a basket matrix (training or live baskets alike); values are term counts
        (1 for a basket SKU, less for a weaker signal such as a customer's past purchase)."""
        out = matrix.astype(np.float32, copy=True)
        if self.scheme == "none":
            return out
        if self.scheme == "tfidf":
            out.data = out.data * self.idf[out.indices]
            return out
        lengths = np.diff(out.indptr).astype(np.float32)
        norm = np.repeat((1 - self.b) + self.b * lengths / self.mean_length, np.diff(out.indptr))
        out.data = out.data * (self.k1 + 1) / (out.data + self.k1 * norm) * self.idf[out.indices]
        return out


class Popularity:
    name = "popularity"

    def fit(self, matrix: sp.csr_matrix) -> Popularity:
        counts = np.asarray(matrix.sum(axis=0)).ravel()
        self.share = (counts / max(counts.sum(), 1)).astype(np.float32)
        return self

    def scores(self, queries: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.share, (queries.shape[0], 1))


class Cooccurrence:
    """Item × item co-occurrence counts; ``scores`` sums P(j | i) (or cosine) over the query SKUs."""

    def __init__(self, normalise: str = "conditional") -> None:
        if normalise not in ("conditional", "cosine"):
            raise ValueError(f"normalise must be conditional or cosine, not {normalise!r}")
        self.normalise = normalise
        self.name = "cooccurrence" if normalise == "conditional" else "item_knn"

    def fit(self, matrix: sp.csr_matrix) -> Cooccurrence:
        binary = matrix.astype(np.float32)
        binary.data[:] = 1.0
        counts = (binary.T @ binary).tocsr()
        item_baskets = counts.diagonal().astype(np.float32)
        counts.setdiag(0)
        counts.eliminate_zeros()
        return self.from_counts(counts, item_baskets, matrix.shape[0])

    def from_counts(self, counts: sp.csr_matrix, item_baskets: np.ndarray, baskets: int) -> Cooccurrence:
        """Set up from pair counts (zero diagonal), baskets per SKU and the number of baskets."""
        self.counts, self.item_baskets, self.baskets = counts.tocsr(), item_baskets.astype(np.float32), int(baskets)
        self.share = self.item_baskets / max(self.item_baskets.sum(), 1.0)
        safe = np.maximum(self.item_baskets, 1.0)
        self.conditional = (sp.diags(1.0 / safe) @ self.counts).tocsr().astype(np.float32)  # row i: P(j | i)
        if self.normalise == "conditional":
            self.similarity = self.conditional
        else:
            root = sp.diags(1.0 / np.sqrt(safe))
            self.similarity = (root @ self.counts @ root).tocsr().astype(np.float32)
        return self

    def scores(self, queries: sp.csr_matrix) -> np.ndarray:
        """Σ over the query's SKUs of value × similarity (values are 1 for basket SKUs)."""
        if queries.shape[0] == 1:  # a live basket: its few rows summed, without a sparse product's set-up
            return (queries.data @ dense_rows(self.similarity, queries.indices))[None, :] + TIE_BREAK * self.share
        return (queries @ self.similarity).toarray() + TIE_BREAK * self.share

    def shares(self, items: list[int], others: list[int]) -> np.ndarray:
        """P(other | item) for each item (rows) and other (columns): "levado junto em N% das compras"."""
        return dense_rows(self.conditional, items)[:, others]

    def lift(self, item: int) -> np.ndarray:
        """P(j | item) / P(j) for every SKU j, shrunk by support (see :func:`shrunk_lift`)."""
        pairs = self.counts[item].toarray().ravel()
        return shrunk_lift(pairs, self.item_baskets[item], self.item_baskets, self.baskets)


def shrunk_lift(together: np.ndarray, baskets_a: np.ndarray | float, baskets_b: np.ndarray, baskets: int) -> np.ndarray:
    """Lift P(b | a) / P(b) of pairs bought ``together`` times, shrunk by support
    (together / (together + 10)) so that a pair seen twice does not top a list."""
    lift = together * baskets / (np.maximum(baskets_a, 1.0) * np.maximum(baskets_b, 1.0))
    return lift * together / (together + 10.0)


@dataclass(frozen=True)
class AlsParams:
    """ALS hyper-parameters. ``regularization`` is per 1,000 training baskets: the item factors' normal
    equations sum over every basket, so the shrinkage that works grows with the data (on the medium
    generated scale λ ≈ 3,000 for 180,000 baskets beat λ ≤ 100 by a wide margin)."""

    factors: int = 64
    regularization: float = 16.0
    alpha: float = 150.0
    iterations: int = 15
    weighting: str = "none"
    seed: int = 7


class Als:
    name = "als"

    def __init__(self, params: AlsParams | None = None) -> None:
        self.params = params or AlsParams()

    def fit(self, matrix: sp.csr_matrix) -> Als:
        """Fit on ``matrix``; fitted before on the same catalogue, continue from those item factors
        for REFIT_ITERATIONS (fit_recommender refits on every basket after validating on the older)."""
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        before = getattr(self, "model", None)
        warm = before is not None and before.item_factors.shape[0] == matrix.shape[1]
        # a one-SKU basket says nothing about what goes together; the rows are oldest first, so these
        # are the newest ALS_MAX_BASKETS of the others
        pairs = matrix[np.flatnonzero(np.diff(matrix.indptr) >= 2)[-ALS_MAX_BASKETS:]]
        self.weighting = Weighting.fit(pairs, p.weighting)
        self.regularization = p.regularization * max(pairs.shape[0], 1) / 1000
        with threadpool_limits(1, "blas"):  # implicit's own threads do the work; threaded BLAS only slows it
            self.model = AlternatingLeastSquares(factors=p.factors, regularization=self.regularization, alpha=p.alpha,
                                                 iterations=REFIT_ITERATIONS if warm else p.iterations,
                                                 random_state=p.seed, calculate_training_loss=False)
            if warm:
                self.model.item_factors = before.item_factors
            self.model.fit(self.weighting.apply(pairs), show_progress=False)
        self.model.user_factors = None  # a factor row per training basket: live baskets are folded in instead
        self.share = Popularity().fit(matrix).share
        return self

    def user_factors(self, queries: sp.csr_matrix) -> np.ndarray:
        """Factors of live baskets, folded in against the fixed item factors (``recalculate_user``).

        One basket (a live request) is solved on the calling thread: implicit's OpenMP threads
        beside BLAS's cost several milliseconds of hand-offs for a solve of microseconds; a batch
        (evaluation) uses them all."""
        self.model.num_threads = 1 if queries.shape[0] == 1 else 0
        return self.model.recalculate_user(np.arange(queries.shape[0]), self.weighting.apply(queries))

    def scores(self, queries: sp.csr_matrix) -> np.ndarray:
        return self.user_factors(queries) @ self.model.item_factors.T + TIE_BREAK * self.share

    def save(self, folder) -> None:
        np.savez(folder / "als.npz", item_factors=self.model.item_factors, idf=self.weighting.idf,
                 mean_length=self.weighting.mean_length, share=self.share, regularization=self.regularization, **{
                     f"param_{k}": v for k, v in asdict(self.params).items()})

    @classmethod
    def load(cls, folder) -> Als:
        from implicit.cpu.als import AlternatingLeastSquares

        with np.load(folder / "als.npz") as data:
            params = AlsParams(**{f: type(getattr(AlsParams, f))(data[f"param_{f}"].item())
                                  for f in AlsParams.__dataclass_fields__})
            als = cls(params)
            als.weighting = Weighting(params.weighting, data["idf"], float(data["mean_length"]))
            als.share = data["share"]
            als.regularization = float(data["regularization"])
            with threadpool_limits(1, "blas"):
                als.model = AlternatingLeastSquares(factors=params.factors, regularization=als.regularization,
                                                    alpha=params.alpha, iterations=params.iterations)
            als.model.item_factors = data["item_factors"]
        return als


def dense_rows(matrix: sp.csr_matrix, rows) -> np.ndarray:
    """A few rows of a CSR matrix as a dense array, read straight from its arrays (scipy's row
    indexing costs tens of microseconds of checks per call, the bulk of a live request)."""
    dense = np.zeros((len(rows), matrix.shape[1]), dtype=matrix.dtype)
    for n, row in enumerate(rows):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        dense[n, matrix.indices[start:end]] = matrix.data[start:end]
    return dense


def row_unit(scores: np.ndarray) -> np.ndarray:
    """Each row rescaled to [0, 1] (its lowest to its highest score); a flat row becomes zeros."""
    lo, hi = scores.min(axis=1, keepdims=True), scores.max(axis=1, keepdims=True)
    return (scores - lo) / np.where(hi > lo, hi - lo, 1.0)
