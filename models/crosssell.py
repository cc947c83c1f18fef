"""Basket completion a seller can say aloud: the chosen blend's relevance, then the store's business
rules, then reasons.

``CrossSell.complete`` takes the SKUs in the basket in front of the seller and the store:
1. **Relevance**. Basket SKUs the model knows are scored by the blend that ``fit_recommender``
   chose on this retailer's baskets (models/recommend.py: popularity, co-occurrence, lift,
   item-kNN, EASE, ALS, mixed by validation); a known customer's past SKUs join at a quarter of a
   basket SKU's weight. SKUs only the
   catalogue knows (launched after training: cold start) are scored by what their subcategory
   sells with; a basket of SKUs nobody knows falls back to the best sellers. Unknown SKUs are
   reported back, never an error.
2. **Rules**, each switchable in ``Rules``: drop the basket's SKUs and their near-duplicates (the
   same product in another size or colour) — but only where this retailer's baskets show that
   variants are bought together less often than chance (``variants_lift`` < 1); drop what the
   store has no stock of (when its stock is known); boost margin inside a pool of relevant
   candidates only; keep at most ``max_per_group`` suggestions per subcategory, among SKUs that
   have one (SKUs without a category are not a group), filling a list that would otherwise be
   short with the capped ones.
3. **Reasons**: "levado junto com X em 18% das compras" when the basket data says so, else the
   reason of the source (similar baskets, the subcategory, best seller).

Margin blend (stated once, here): among the ``candidate_pool`` most relevant SKUs, relevance is
rescaled to [0, 1] (the pool's least to most relevant) and the final score is
``relevance + margin_weight × margin share`` (margin share = (price − cost) / price, 0–1). With the
default weight 0.2 a 40%-margin SKU gains 0.08: it passes a rival that is a little more relevant,
never one that is clearly more relevant, and nothing outside the pool can enter.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.basket_models import Cooccurrence, shrunk_lift
from models.text import fold

HISTORY_WEIGHT = 0.25  # a past purchase of the customer counts a quarter of a SKU in today's basket
CATALOGUE_COLUMNS = ("sku", "name", "category", "subcategory", "brand", "margin")
SIZE = re.compile(r"\b\d+([.,]\d+)?\s*(ml|l|g|kg|mg|oz|un|cm|mm|pcs?)\b|\bun\b|\bunidades?\b")
COLOURS = {
    "branco", "branca", "preto", "preta", "vermelho", "vermelha", "azul", "verde", "amarelo", "amarela", "rosa",
    "roxo", "roxa", "nude", "marrom", "bege", "dourado", "dourada", "prata", "laranja", "cinza", "coral", "vinho",
    "white", "black", "red", "blue", "green", "yellow", "pink", "purple", "brown", "gold", "silver", "orange", "grey",
    "gray", "ivory", "cream",
}


class BasketScorer(Protocol):
    """What scores the catalogue for basket rows (SKUs × weights): models.recommend.Recommender."""

    def scores(self, queries: sp.csr_matrix) -> np.ndarray: ...


@dataclass(frozen=True)
class Rules:
    drop_near_duplicates: bool = True
    drop_out_of_stock: bool = True
    margin_weight: float = 0.2  # 0 switches the margin boost off
    max_per_group: int = 2  # per subcategory; 0 switches diversity off
    candidate_pool: int = 50
    min_share_for_reason: float = 0.05  # "levado junto com X em N%" only from this share up


@dataclass(frozen=True)
class Suggestion:
    sku: str
    name: str
    category: str
    score: float
    margin: float | None
    reason: str
    source: str  # basket | category | popular


@dataclass
class Suggestions:
    items: list[Suggestion]
    unknown: list[str] = field(default_factory=list)  # basket SKUs nobody knows
    source: str = "basket"  # what scored the basket: basket (the blend), category (cold start) or popular
    stock_checked: bool = False  # False when the store's stock is not known


def family_key(name: str) -> str:
    """The product without its size or colour: "Shampoo Ipê 200ml" and "Shampoo Ipê 1 l" share one."""
    text = fold(name)
    text = SIZE.sub(" ", text)
    words = [w for w in re.findall(r"[a-z0-9]+", text) if w not in COLOURS]
    return " ".join(words)


def catalogue_table(products: pd.DataFrame) -> pd.DataFrame:
    """The catalogue the rules need, indexed by SKU, with the near-duplicate family of each SKU."""
    missing = [c for c in CATALOGUE_COLUMNS if c not in products.columns]
    if missing:
        raise ValueError(f"catalogue lacks column(s) {', '.join(missing)}")
    out = products[list(CATALOGUE_COLUMNS)].astype({"sku": str}).drop_duplicates("sku").set_index("sku")
    out["name"] = out["name"].fillna(pd.Series(out.index, index=out.index))
    for column in ("category", "subcategory", "brand"):
        out[column] = out[column].fillna("")
    out["group"] = out["subcategory"].where(out["subcategory"] != "", out["category"])
    out["family"] = [family_key(n) for n in out["name"]]
    out["margin"] = pd.to_numeric(out["margin"], errors="coerce")
    return out


class CrossSell:
    """The served recommender: fitted scorers + catalogue + stock + rules (see the module docstring)."""

    def __init__(self, skus: np.ndarray, scorer: BasketScorer, cooc: Cooccurrence, catalogue: pd.DataFrame,
                 stock: pd.DataFrame | None = None, rules: Rules | None = None) -> None:
        self.skus = np.asarray(skus, dtype=str)
        self.column = {s: i for i, s in enumerate(self.skus)}
        self.scorer, self.cooc, self.rules = scorer, cooc, rules or Rules()
        self.catalogue = catalogue
        known = catalogue.reindex(self.skus)
        self.names = known["name"].fillna(pd.Series(self.skus, index=known.index)).to_numpy(dtype=object)
        self.categories = known["category"].fillna("").to_numpy(dtype=object)
        self.margin = known["margin"].to_numpy(dtype=float)
        self.family = pd.factorize(known["family"].fillna(pd.Series(self.skus, index=known.index)))[0]
        self.family_of = dict(zip(known.index, self.family))
        groups = known["group"].fillna("")
        self.group, self.group_names = pd.factorize(groups)
        self.no_group = self.group_names.get_loc("") if "" in self.group_names else -1  # SKUs without a category
        self._group_scores()
        self.variant_lift = variants_lift(self.cooc, self.family)
        # variants of one product (sizes, colours) are dropped only where this retailer's customers
        # rarely buy them together: below chance (lift < 1) in its own baskets
        self.suppress_variants = self.rules.drop_near_duplicates and self.variant_lift < 1.0
        self.stock = stock if stock is not None else pd.DataFrame(columns=["store_id", "sku", "on_hand"])
        self.in_stock = {store: np.isin(self.skus, part.loc[part["on_hand"] > 0, "sku"].astype(str))
                         for store, part in self.stock.groupby("store_id", observed=True)}

    def with_rules(self, rules: Rules) -> CrossSell:
        """The same fitted recommender under other rules (a rule's cost is measured this way)."""
        other = copy.copy(self)
        other.rules = rules
        other.suppress_variants = rules.drop_near_duplicates and self.variant_lift < 1.0
        return other

    def _group_scores(self) -> None:
        """Subcategory × subcategory P(group b | group a) and each SKU's share of its group: cold start."""
        n_groups = len(self.group_names)
        member = sp.csr_matrix((np.ones(len(self.skus)), (np.arange(len(self.skus)), self.group)),
                               shape=(len(self.skus), n_groups))
        counts = (member.T @ self.cooc.counts @ member).toarray()
        totals = np.maximum(member.T @ self.cooc.item_baskets, 1.0)
        self.group_given = counts / totals[:, None]
        np.fill_diagonal(self.group_given, 0.0)  # a new shampoo asks for conditioner, not for more shampoo
        self.share_in_group = self.cooc.item_baskets / totals[self.group]

    # -- basket completion -------------------------------------------------------------------------

    def complete(self, basket: Sequence[str], store: str | None = None, k: int = 5,
                 history: Sequence[str] = ()) -> Suggestions:
        """Top-``k`` complements for the basket at the store (see the module docstring)."""
        if k < 1:
            raise ValueError("k must be at least 1")
        basket = list(dict.fromkeys(str(s) for s in basket))
        cols = [self.column[s] for s in basket if s in self.column]
        new = [s for s in basket if s not in self.column and s in self.catalogue.index]
        unknown = [s for s in basket if s not in self.column and s not in self.catalogue.index]
        past = [self.column[s] for s in dict.fromkeys(map(str, history)) if s in self.column and s not in basket]
        if cols:
            relevance, source = self._basket_relevance(cols, past), "basket"
        elif new:
            relevance, source = self._group_relevance(new), "category"
        else:
            relevance, source = self.cooc.share.astype(float), "popular"
        families = {self.family_of[s] for s in basket if s in self.family_of}
        families |= {self.catalogue.at[s, "family"] for s in new}
        allowed, stock_checked = self._allowed(cols, families, store)
        chosen, final = self._pick(relevance, allowed, k)
        reasons = self._reasons(chosen, cols, new, source)
        items = [Suggestion(self.skus[j], str(self.names[j]), str(self.categories[j]), round(float(final[j]), 4),
                            None if np.isnan(self.margin[j]) else round(float(self.margin[j]), 4), reason, source)
                 for j, reason in zip(chosen, reasons)]
        return Suggestions(items, unknown, source, stock_checked)

    def _basket_relevance(self, cols: list[int], past: list[int]) -> np.ndarray:
        values = np.r_[np.ones(len(cols)), np.full(len(past), HISTORY_WEIGHT)].astype(np.float32)
        row = sp.csr_matrix((values, np.r_[cols, past].astype(np.int32), [0, len(values)]),
                            shape=(1, len(self.skus)))
        return self.scorer.scores(row)[0].astype(float)

    def _group_relevance(self, new: list[str]) -> np.ndarray:
        groups = [self.group_names.get_loc(g) for g in self.catalogue.loc[new, "group"] if g in self.group_names]
        if not groups:
            return self.cooc.share.astype(float)
        return self.group_given[groups].sum(axis=0)[self.group] * self.share_in_group + 1e-6 * self.cooc.share

    def _allowed(self, cols: list[int], families: set, store: str | None) -> tuple[np.ndarray, bool]:
        allowed = np.ones(len(self.skus), dtype=bool)
        allowed[cols] = False
        if self.suppress_variants and families:
            allowed &= ~np.isin(self.family, list(families))
        stock_checked = store is not None and store in self.in_stock
        if self.rules.drop_out_of_stock and stock_checked:
            allowed &= self.in_stock[store]
        return allowed, stock_checked

    def _pick(self, relevance: np.ndarray, allowed: np.ndarray, k: int) -> tuple[list[int], np.ndarray]:
        """Candidate pool → margin blend → diversity and one SKU per family; (chosen, final scores)."""
        candidates = np.flatnonzero(allowed)
        pool = candidates[np.argsort(-relevance[candidates], kind="stable")[:max(self.rules.candidate_pool, k)]]
        final = np.full(len(relevance), -np.inf)
        if len(pool) == 0:
            return [], final
        lo, hi = relevance[pool].min(), relevance[pool].max()
        final[pool] = (relevance[pool] - lo) / (hi - lo) if hi > lo else 1.0
        if self.rules.margin_weight:
            final[pool] += self.rules.margin_weight * np.nan_to_num(self.margin[pool], nan=0.0).clip(0, 1)
        chosen: list[int] = []
        waiting: list[int] = []  # over their group's cap: they fill a list that would otherwise be short
        per_group: dict[int, int] = {}
        families: set[int] = set()
        for j in pool[np.argsort(-final[pool], kind="stable")]:
            if self.suppress_variants and self.family[j] in families:
                continue
            real_group = self.group[j] != self.no_group
            if self.rules.max_per_group and real_group and per_group.get(self.group[j], 0) >= self.rules.max_per_group:
                waiting.append(int(j))
                continue
            chosen.append(int(j))
            families.add(self.family[j])
            per_group[self.group[j]] = per_group.get(self.group[j], 0) + 1
            if len(chosen) == k:
                return chosen, final
        return chosen + waiting[: k - len(chosen)], final

    def _reasons(self, chosen: list[int], cols: list[int], new: list[str], source: str) -> list[str]:
        shares = self.cooc.shares(cols, chosen) if cols and chosen else np.zeros((0, len(chosen)))
        reasons = []
        for n, j in enumerate(chosen):
            best = int(shares[:, n].argmax()) if len(cols) else -1
            share = float(shares[best, n]) if best >= 0 else 0.0
            if share >= self.rules.min_share_for_reason:
                reasons.append(f"levado junto com {self.names[cols[best]]} em {round(share * 100)}% das compras")
            elif source == "basket":
                reasons.append("clientes com cestas parecidas também levaram")
            elif source == "category":
                group = self.catalogue.at[new[0], "group"] or "este produto"
                reasons.append(f"quem leva {group} costuma levar {self.group_names[self.group[j]] or 'este item'}")
            else:
                reasons.append("um dos mais vendidos da rede")
        return reasons

    # -- bought together with one SKU --------------------------------------------------------------

    def together_with(self, sku: str, store: str | None = None, k: int = 5) -> Suggestions:
        """"Bought together with X": the blend's scores for X alone, mixed half and half with
        co-occurrence lift.

        Lift P(j | X) / P(j) is shrunk by support (count / (count + 10)) so a pair seen twice does
        not top the list; both halves are scaled to [0, 1] before blending.
        """
        sku = str(sku)
        if sku not in self.column:
            if sku in self.catalogue.index:
                return self.complete([sku], store, k)
            return Suggestions([], [sku], "popular", False)
        i = self.column[sku]
        alone = self._basket_relevance([i], [])
        relevance = 0.5 * _unit(alone.clip(min=0)) + 0.5 * _unit(self.cooc.lift(i)) + 1e-6 * self.cooc.share
        allowed, stock_checked = self._allowed([i], {self.family[i]}, store)
        chosen, final = self._pick(relevance, allowed, k)
        reasons = self._reasons(chosen, [i], [], "basket")
        items = [Suggestion(self.skus[j], str(self.names[j]), str(self.categories[j]), round(float(final[j]), 4),
                            None if np.isnan(self.margin[j]) else round(float(self.margin[j]), 4), reason, "basket")
                 for j, reason in zip(chosen, reasons)]
        return Suggestions(items, [], "basket", stock_checked)

    def strong_pairs(self, store: str | None = None, k: int = 10, min_baskets: int = 5) -> list[dict]:
        """The pairs bought together most strongly: lift shrunk by support (together / (together + 10),
        as in :meth:`together_with`), both SKUs in stock at the store when its stock is known, and
        never two versions of one product."""
        counts = self.cooc.counts.tocoo()
        keep = (counts.row < counts.col) & (counts.data >= min_baskets)
        rows, cols, together = counts.row[keep], counts.col[keep], counts.data[keep].astype(float)
        keep = self.family[rows] != self.family[cols]
        if store in self.in_stock:
            keep &= self.in_stock[store][rows] & self.in_stock[store][cols]
        rows, cols, together = rows[keep], cols[keep], together[keep]
        items = np.maximum(self.cooc.item_baskets, 1.0)
        lift = together * self.cooc.baskets / (items[rows] * items[cols])
        order = np.argsort(-shrunk_lift(together, items[rows], items[cols], self.cooc.baskets), kind="stable")[:k]
        return [{"sku_a": str(self.skus[a]), "name_a": str(self.names[a]), "sku_b": str(self.skus[b]),
                 "name_b": str(self.names[b]), "baskets": int(n), "share_a_with_b": round(float(n / items[a]), 4),
                 "lift": round(float(x), 2)} for a, b, n, x in zip(rows[order], cols[order], together[order], lift[order])]

    # -- persistence ---------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "scorer.pkl").write_bytes(pickle.dumps(self.scorer))
        sp.save_npz(folder / "cooccurrence.npz", self.cooc.counts.tocsr())
        np.save(folder / "item_baskets.npy", self.cooc.item_baskets)
        self.catalogue.reset_index().to_parquet(folder / "catalogue.parquet")
        self.stock.to_parquet(folder / "stock.parquet")
        (folder / "recommender.json").write_text(json.dumps({"skus": self.skus.tolist(), "rules": asdict(self.rules),
                                                               "baskets": self.cooc.baskets}))

    @classmethod
    def load(cls, folder: Path) -> CrossSell:
        """The recommender saved in ``folder`` (a model artifact this project wrote: it is unpickled)."""
        meta = json.loads((folder / "recommender.json").read_text())
        cooc = Cooccurrence().from_counts(sp.load_npz(folder / "cooccurrence.npz"), np.load(folder / "item_baskets.npy"),
                                          meta["baskets"])
        catalogue = pd.read_parquet(folder / "catalogue.parquet").set_index("sku")
        scorer = pickle.loads((folder / "scorer.pkl").read_bytes())
        return cls(np.array(meta["skus"]), scorer, cooc, catalogue, pd.read_parquet(folder / "stock.parquet"),
                   Rules(**meta["rules"]))


def variants_lift(cooc: Cooccurrence, family: np.ndarray) -> float:
    """How much more often than chance two variants of one product (same family, other SKU) share a
    basket: pooled observed / expected pair counts over every same-family pair; 0 when the catalogue
    has no variants or no basket holds two (nothing shows they go together)."""
    counts = cooc.counts.tocoo()
    same = (counts.row < counts.col) & (family[counts.row] == family[counts.col])
    if not same.any():
        return 0.0
    observed = counts.data[same].sum()
    items = cooc.item_baskets.astype(float)
    # expected baskets holding two variants of a family, if SKUs were bought independently:
    # Σ over its pairs of n_i n_j / N = ((Σ n)² − Σ n²) / 2N
    total, squares = np.bincount(family, weights=items), np.bincount(family, weights=items**2)
    expected = ((total**2 - squares) / 2).sum() / max(cooc.baskets, 1)
    return float(observed / expected) if expected > 0 else 0.0


def _unit(values: np.ndarray) -> np.ndarray:
    top = values.max() if len(values) else 0.0
    return values / top if top > 0 else np.zeros_like(values, dtype=float)
