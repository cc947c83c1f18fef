"""fit_recommender on baskets with planted structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import fit_recommender
from models.recommend import pick

PAIRS = {"A01": "B01", "A02": "B02", "A03": "B03", "A04": "B04"}


def planted_baskets(n: int = 3000, seed: int = 1) -> list[list[str]]:
    """Random baskets from 60 SKUs (a few popular), where buying Axx brings Bxx along 80% of the time."""
    rng = np.random.default_rng(seed)
    filler = [f"F{i:02d}" for i in range(60)]
    weights = 1 / np.arange(1, 61)
    weights /= weights.sum()
    baskets = []
    for _ in range(n):
        basket = list(rng.choice(filler, size=rng.integers(1, 4), replace=False, p=weights))
        if rng.random() < 0.4:
            a = rng.choice(list(PAIRS))
            basket.append(a)
            if rng.random() < 0.8:
                basket.append(PAIRS[a])
        baskets.append(basket)
    return baskets


def numbered_matrix(baskets: list[list[str]]):
    """The SKUs sorted, each SKU's column, and the basket × SKU matrix (one row per basket)."""
    from models.basket_models import basket_matrix

    skus = sorted({s for b in baskets for s in b})
    column = {s: n for n, s in enumerate(skus)}
    rows = np.repeat(np.arange(len(baskets)), [len(b) for b in baskets])
    return skus, column, basket_matrix(rows, np.array([column[s] for b in baskets for s in b]), len(baskets), len(skus))


@pytest.fixture(scope="module")
def recommender():
    return fit_recommender(planted_baskets())


def test_the_planted_partner_comes_first(recommender):
    for a, b in PAIRS.items():
        assert recommender.complete([a], k=5)[0] == b
        assert b in recommender.complete(["F10", a], k=3)


def test_the_blend_is_never_below_its_best_scorer_on_validation(recommender):
    scores = recommender.validation
    assert scores["blend"] >= max(v for n, v in scores.items() if n != "blend") - 1e-12
    assert {"popularity", "cooccurrence", "lift", "item_knn", "ease", "als_sized", "als_large"} <= set(scores)
    assert abs(sum(recommender.weights.values()) - 1) < 1e-9


def test_a_list_is_full_without_categories_and_never_repeats_the_basket(recommender):
    out = recommender.complete(["A01", "F00", "UNKNOWN"], k=10)
    assert len(out) == 10 and len(set(out)) == 10
    assert not {"A01", "F00"} & set(out)


def test_out_of_stock_is_never_suggested_at_that_store():
    stock = pd.DataFrame({"store_id": ["L1", "L2"], "sku": ["B01", "B01"], "on_hand": [0, 5]})
    recommender = fit_recommender(planted_baskets(), stock=stock)
    assert "B01" not in recommender.complete(["A01"], k=10, store_id="L1")
    assert recommender.complete(["A01"], k=10, store_id="L2")[0] == "B01"


def test_the_group_cap_applies_only_among_real_groups():
    relevance = np.array([9.0, 8, 7, 6, 5, 4])
    allowed = np.ones(6, bool)
    ungrouped = np.array(["", "", "", "", "", ""], dtype=object)
    assert pick(relevance, allowed, 5, ungrouped, 2) == [0, 1, 2, 3, 4]  # no category: no cap
    grouped = np.array(["x", "x", "x", "y", "", ""], dtype=object)
    assert pick(relevance, allowed, 5, grouped, 2) == [0, 1, 3, 4, 5]  # the third "x" waits
    assert pick(relevance, allowed, 6, grouped, 2) == [0, 1, 3, 4, 5, 2]  # and fills a list that would be short


def test_a_catalogue_with_groups_is_read():
    catalogue = pd.DataFrame({"sku": ["A01", "B01"], "name": ["a", "b"], "category": ["cabelo", "cabelo"],
                              "subcategory": ["shampoo", None], "brand": ["x", "y"], "margin": [0.4, 0.5]})
    recommender = fit_recommender(planted_baskets(), catalogue=catalogue)
    groups = dict(zip(recommender.skus, recommender.groups))
    assert groups["A01"] == "shampoo" and groups["B01"] == "cabelo" and groups["F00"] == ""
    assert recommender.complete(["A01"], k=5)[0] == "B01"


def test_the_group_cap_is_kept_only_when_validation_shows_it_costs_little():
    pairs = pd.DataFrame({"sku": [*PAIRS, *PAIRS.values()], "subcategory": [f"g{i}" for i in range(8)]})
    diverse = fit_recommender(planted_baskets(), catalogue=pairs)
    assert diverse.rule_costs["max_per_group"] <= 0.01 and diverse.max_per_group == 2
    # A goes with any of six accessories of one kind: capping that kind at 2 leaves out the one wanted
    rng = np.random.default_rng(2)
    accessories = [f"C{i}" for i in range(6)]
    baskets = [["A", *rng.choice(accessories, 2, replace=False)] if rng.random() < 0.5
               else list(rng.choice([f"F{i}" for i in range(30)], 2, replace=False)) for _ in range(3000)]
    same_kind = pd.DataFrame({"sku": accessories, "subcategory": "acessórios"})
    crowded = fit_recommender(baskets, catalogue=same_kind)
    assert crowded.rule_costs["max_per_group"] > 0.01 and crowded.max_per_group is None
    assert set(crowded.complete(["A", "C1"], k=4)) <= set(accessories) - {"C1"}


def test_sku_ids_come_back_as_the_caller_wrote_them():
    offset = {"A": 0, "B": 1000, "F": 2000}
    as_numbers = [[offset[s[0]] + int(s[1:]) for s in b] for b in planted_baskets()]
    recommender = fit_recommender(as_numbers)
    out = recommender.complete([1], k=3)
    assert out[0] == 1001 and all(type(s) is int for s in out)
    assert recommender.complete(["1"], k=1) == [1001]  # the same SKU written as text is found


def test_baskets_can_come_from_a_generator():
    """Baskets read lazily (a file's lines, a groupby) are a one-pass iterator: the fit reads them
    once and learns the same as from a list."""
    baskets = planted_baskets(n=500)
    lazily = fit_recommender(list(basket) for basket in baskets)
    suggested = lazily.complete(["A02"], k=5)
    assert len(suggested) == 5 and suggested == fit_recommender(baskets).complete(["A02"], k=5)


def test_lines_without_a_sku_id_are_no_product():
    """An export's empty SKU cells (None from a database, NaN from a CSV) are skipped, never
    learnt as a product called "None" or "nan" and suggested."""
    rng = np.random.default_rng(4)
    holes = [None, np.nan, pd.NA, float("nan")]
    baskets = [b + [holes[k % 4]] * int(rng.random() < 0.5) for k, b in enumerate(planted_baskets(n=800))]
    recommender = fit_recommender(baskets)
    assert set(recommender.skus) == {s for b in planted_baskets(n=800) for s in b}
    suggested = recommender.complete(["A01", None], k=60)
    assert suggested[0] == "B01" and not {"None", "nan", "<NA>"} & {str(s) for s in suggested}


def test_too_few_baskets_are_refused():
    with pytest.raises(ValueError, match="at least 10"):
        fit_recommender([["A"], ["B"], []])


def test_als_learns_from_the_newest_baskets_within_its_budget(monkeypatch):
    """The lipstick went with a liner for a year, then with a gloss: with room for only the newest
    baskets, ALS ranks the gloss first for a lipstick and learns nothing of the liner's year; the
    one-SKU baskets do not use up the budget."""
    from models import basket_models
    from models.basket_models import Als, AlsParams, basket_matrix

    rng = np.random.default_rng(3)
    filler = [[f"F{i:02d}", f"F{(i + 7) % 40:02d}"] for i in rng.integers(0, 40, 600)]
    baskets = ([["BATOM", "LAPIS"]] * 300 + filler[:300] + [["BATOM", "GLOSS"]] * 300 + filler[300:]
               + [["F00"]] * 500)  # oldest first
    skus, column, matrix = numbered_matrix(baskets)
    monkeypatch.setattr(basket_models, "ALS_MAX_BASKETS", 600)
    als = Als(AlsParams(factors=8, regularization=1.0, iterations=10)).fit(matrix)
    query = basket_matrix(np.array([0]), np.array([column["BATOM"]]), 1, len(skus))
    scores = als.scores(query)[0]
    assert scores[column["GLOSS"]] > 5 * max(scores[column["LAPIS"]], 1e-6), dict(zip(skus, scores.round(3)))
    assert als.model.user_factors is None  # nothing per training basket is kept after the fit


def test_als_refits_on_more_baskets_from_its_last_factors():
    """fit_recommender fits ALS on the baskets before its validation windows, then on every basket:
    a refit of the same catalogue starts from the last fit's item factors and needs only REFIT_ITERATIONS
    sweeps to rank the planted partners as a cold fit does; another catalogue starts cold."""
    from models.basket_models import REFIT_ITERATIONS, Als, AlsParams, basket_matrix

    baskets = planted_baskets()
    skus, column, matrix = numbered_matrix(baskets)
    params = AlsParams(factors=8, regularization=1.0, iterations=15)
    refitted = Als(params).fit(matrix[:2000]).fit(matrix)
    cold = Als(params).fit(matrix)
    assert refitted.model.iterations == REFIT_ITERATIONS < cold.model.iterations
    for a, b in PAIRS.items():
        query = basket_matrix(np.array([0]), np.array([column[a]]), 1, len(skus))
        for als in (refitted, cold):
            scores = als.scores(query)[0]
            scores[column[a]] = -np.inf
            assert skus[int(np.argmax(scores))] == b
    other = refitted.fit(matrix[:, :30])  # a catalogue of another size: nothing to continue from
    assert other.model.iterations == params.iterations


def test_skus_are_numbered_in_sorted_order_as_np_unique_numbers_them():
    from models.recommend import _numbered

    rng = np.random.default_rng(1)
    baskets = [[f"P{rng.integers(0, 300):05d}" if rng.random() < 0.9 else str(rng.integers(0, 30))
                for _ in range(rng.integers(1, 6))] for _ in range(3000)]
    skus, columns = _numbered(baskets)
    expected_skus, expected_columns = np.unique(np.array([s for b in baskets for s in b]), return_inverse=True)
    assert skus.tolist() == expected_skus.tolist() and columns.tolist() == expected_columns.tolist()
