"""The cross-sell recommender on a hand-made basket world whose pairs are known: relevance and reasons,
every business rule both ways, cold start, unknown SKUs, the evaluation harness's arithmetic."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.basket_models import (
    Als,
    AlsParams,
    Cooccurrence,
    Popularity,
    Weighting,
    basket_matrix,
)
from models.crosssell import CrossSell, Rules, catalogue_table, family_key
from models.recommend import fit_recommender
from training.crosssell_eval import ItemIndex, hide_items, rank_metrics, recall_at

CATALOGUE = pd.DataFrame([
    ("S1", "Shampoo Ipê 200ml", "cabelos", "shampoo", "Ipê", 0.30),
    ("S1B", "Shampoo Ipê 1 l", "cabelos", "shampoo", "Ipê", 0.30),
    ("C1", "Condicionador Ipê 200ml", "cabelos", "condicionador", "Ipê", 0.05),
    ("C2", "Condicionador Lumi 200ml", "cabelos", "condicionador", "Lumi", 0.70),
    ("M1", "Máscara capilar Ipê un", "cabelos", "máscara capilar", "Ipê", 0.40),
    ("B1", "Batom Rosa Aurora", "maquiagem", "batom", "Aurora", 0.50),
    ("L1", "Lápis labial Aurora", "maquiagem", "lápis labial", "Aurora", 0.50),
    ("NEW", "Shampoo Brisa 300ml", "cabelos", "shampoo", "Brisa", 0.30),  # launched after training: cold start
    *[(f"F{i:02d}", f"Item {i} Lumi", "corpo e banho", f"sub{i % 4}", "Lumi", 0.90) for i in range(20)],
], columns=["sku", "name", "category", "subcategory", "brand", "margin"])

# (basket, times): S1 goes with C1 (300), C2 (150), M1 (100) and with its own 1 l size (120); B1 with L1.
PLANTED = [(("S1", "C1"), 300), (("S1", "C2"), 150), (("S1", "M1"), 100), (("S1", "S1B"), 120),
           (("B1", "L1"), 300), (("S1B", "C1"), 50)]


def baskets(planted=PLANTED) -> list[tuple[str, ...]]:
    rng = np.random.default_rng(3)
    out = [basket for basket, times in planted for _ in range(times)]
    fillers = [f"F{i:02d}" for i in range(20)]
    out += [tuple(rng.choice(fillers, 2, replace=False)) for _ in range(2000)]
    out += [(a, f) for a in ("S1", "B1", "C1") for f in fillers for _ in range(3)]
    return out


def fit(rules: Rules | None = None, stock: pd.DataFrame | None = None, planted=PLANTED,
        catalogue: pd.DataFrame = CATALOGUE) -> CrossSell:
    lines = pd.DataFrame([(t, s) for t, basket in enumerate(baskets(planted)) for s in basket],
                         columns=["ticket_id", "sku"])
    index = ItemIndex.of(lines)
    matrix = index.matrix(lines)
    blend = fit_recommender([list(b) for b in baskets(planted)])
    return CrossSell(index.skus, blend, Cooccurrence().fit(matrix), catalogue_table(catalogue), stock,
                     rules or Rules(margin_weight=0.0))


@pytest.fixture(scope="module")
def recommender() -> CrossSell:
    return fit()


def skus(result) -> list[str]:
    return [s.sku for s in result.items]


def test_the_planted_complement_comes_first_with_a_reason_from_the_data(recommender):
    result = recommender.complete(["S1"], k=3)
    assert skus(result)[0] == "C1"
    s1_baskets = 300 + 150 + 100 + 120 + 60
    assert result.items[0].reason == f"levado junto com Shampoo Ipê 200ml em {round(300 / s1_baskets * 100)}% das compras"
    assert result.source == "basket" and result.unknown == []
    assert skus(recommender.complete(["B1"], k=1)) == ["L1"]


def test_other_sizes_are_dropped_only_where_customers_rarely_buy_them_together(recommender):
    # here S1 and its 1 l size share 120 baskets, far above chance: the data keeps the variant
    assert recommender.variant_lift > 1 and not recommender.suppress_variants
    assert "S1B" in skus(recommender.complete(["S1"], k=4))
    # without those baskets the two sizes never meet: the rule drops the other size
    apart = fit(planted=[p for p in PLANTED if p[0] != ("S1", "S1B")])
    assert apart.variant_lift < 1 and apart.suppress_variants
    assert "S1B" not in skus(apart.complete(["S1"], k=10))
    relaxed = fit(Rules(margin_weight=0.0, drop_near_duplicates=False), planted=[p for p in PLANTED if p[0] != ("S1", "S1B")])
    assert not relaxed.suppress_variants  # switched off by hand, it stays off
    assert "C1" not in skus(recommender.complete(["S1", "C1"], k=10))  # basket items never come back


def test_out_of_stock_at_the_store_is_dropped_and_unknown_stock_is_said():
    stock = pd.DataFrame({"store_id": ["L1", "L1", "L2", "L2"], "sku": ["C1", "C2", "C1", "C2"], "on_hand": [0, 4, 5, 4]})
    model = fit(stock=stock)
    at_l1 = model.complete(["S1"], "L1", k=3)
    assert "C1" not in skus(at_l1) and at_l1.stock_checked
    assert skus(model.complete(["S1"], "L2", k=1)) == ["C1"]  # stocked at L2; SKUs absent from L2's stock are out
    assert set(skus(model.complete(["S1"], "L2", k=5))) <= {"C1", "C2"}
    elsewhere = model.complete(["S1"], "L9", k=1)
    assert skus(elsewhere) == ["C1"] and not elsewhere.stock_checked
    off = fit(Rules(margin_weight=0.0, drop_out_of_stock=False), stock)
    assert skus(off.complete(["S1"], "L1", k=1)) == ["C1"]


def test_margin_reorders_close_candidates_but_never_lifts_irrelevant_ones(recommender):
    relevance = np.zeros(len(recommender.skus))
    col = recommender.column
    relevance[[col["C1"], col["C2"], col["M1"], col["F00"]]] = [1.0, 0.95, 0.5, 0.0]
    allowed = np.zeros(len(relevance), dtype=bool)
    allowed[[col["C1"], col["C2"], col["M1"], col["F00"]]] = True
    plain = CrossSell.__new__(CrossSell)
    plain.__dict__.update(recommender.__dict__)
    plain.rules = Rules(margin_weight=0.0, max_per_group=0)
    assert [recommender.skus[j] for j in plain._pick(relevance, allowed, 4)[0]] == ["C1", "C2", "M1", "F00"]
    plain.rules = Rules(margin_weight=0.2, max_per_group=0)  # C2 (70%) passes C1 (5%): 0.95 + 0.14 > 1 + 0.01
    assert [recommender.skus[j] for j in plain._pick(relevance, allowed, 4)[0]] == ["C2", "C1", "M1", "F00"]
    plain.rules = Rules(margin_weight=0.2, max_per_group=0, candidate_pool=3)  # F00 (90%) is not in the pool
    assert "F00" not in [recommender.skus[j] for j in plain._pick(relevance, allowed, 3)[0]]


def test_at_most_max_per_group_suggestions_per_subcategory():
    diverse = fit(Rules(margin_weight=0.0, max_per_group=1))
    groups = [CATALOGUE.set_index("sku").at[s, "subcategory"] for s in skus(diverse.complete(["S1"], k=5))]
    assert len(groups) == len(set(groups)) == 5
    crowded = fit(Rules(margin_weight=0.0, max_per_group=0))
    top = skus(crowded.complete(["S1"], k=3))
    assert {"C1", "C2"} <= set(top)  # without the rule both conditioners make the top 3


def test_skus_without_a_category_are_not_one_group_and_lists_stay_full():
    bare = CATALOGUE.assign(category="", subcategory="")
    model = fit(Rules(margin_weight=0.0, max_per_group=2), catalogue=bare)
    assert len(skus(model.complete(["S1"], k=10))) == 10  # was capped at 2: every SKU in group ""
    few_groups = fit(Rules(margin_weight=0.0, max_per_group=1))
    assert len(skus(few_groups.complete(["S1"], k=15))) == 15  # over-cap SKUs fill the list rather than leave it short


def test_a_new_sku_gets_what_its_subcategory_sells_with(recommender):
    result = recommender.complete(["NEW"], k=2)
    assert result.source == "category" and result.unknown == []
    assert skus(result)[0] in ("C1", "C2")
    assert result.items[0].reason == "quem leva shampoo costuma levar condicionador"
    assert "S1" not in skus(recommender.complete(["NEW"], k=10))  # a new shampoo asks for what goes with shampoo


def test_unknown_skus_are_reported_and_an_all_unknown_basket_gets_best_sellers(recommender):
    mixed = recommender.complete(["S1", "NOPE"], k=2)
    assert mixed.unknown == ["NOPE"] and skus(mixed)[0] == "C1"
    fallback = recommender.complete(["NOPE", "NADA"], k=3)
    assert fallback.unknown == ["NOPE", "NADA"] and fallback.source == "popular"
    assert skus(fallback)[0] == "S1"  # the SKU in the most baskets
    assert fallback.items[0].reason == "um dos mais vendidos da rede"
    assert skus(recommender.complete([], k=1)) == ["S1"]
    with pytest.raises(ValueError, match="k must be"):
        recommender.complete(["S1"], k=0)


def test_bought_together_blends_the_baskets_scores_with_lift(recommender):
    result = recommender.together_with("B1", k=1)
    assert skus(result) == ["L1"] and result.items[0].reason.startswith("levado junto com Batom Rosa Aurora em ")
    assert recommender.together_with("NOPE").unknown == ["NOPE"]


def test_save_and_load_give_the_same_suggestions(recommender, tmp_path):
    recommender.save(tmp_path / "model")
    loaded = CrossSell.load(tmp_path / "model")
    for basket in (["S1"], ["B1", "NOPE"], ["NEW"]):
        assert recommender.complete(basket, k=4) == loaded.complete(basket, k=4)


def test_family_key_ignores_size_and_colour():
    assert family_key("Shampoo Ipê 200ml") == family_key("Shampoo Ipê 1 l") == "shampoo ipe"
    assert family_key("WHITE HANGING HEART T-LIGHT HOLDER") == family_key("RED HANGING HEART T-LIGHT HOLDER")
    assert family_key("Batom Rosa Aurora") == family_key("Batom Aurora")  # "rosa" is a colour: the same product
    with pytest.raises(ValueError, match="margin"):
        catalogue_table(CATALOGUE.drop(columns="margin"))


def test_metrics_on_a_world_of_exact_pairs():
    # test baskets are exact pairs (Ai, Bi): hiding one, the other determines it
    train = pd.DataFrame([(t, f"{x}{t % 50}") for t in range(5000) for x in "AB"], columns=["ticket_id", "sku"])
    test = pd.DataFrame([(t, f"{x}{t % 50}") for t in range(5000, 5400) for x in "AB"], columns=["ticket_id", "sku"])
    index = ItemIndex.of(train)
    matrix = index.matrix(train)
    one = hide_items(test, index, None, seed=1, max_baskets=1000)
    cooc = rank_metrics(Cooccurrence().fit(matrix).scores, one, k=10)
    assert (cooc["hit_rate_10"], cooc["ndcg_10"], cooc["mrr"]) == (1.0, 1.0, 1.0) and cooc["coverage_10"] > 0.9
    popular = rank_metrics(Popularity().fit(matrix).scores, one, k=10)
    assert popular["hit_rate_10"] < 0.25 and popular["mrr"] < 0.25
    als = rank_metrics(Als(AlsParams(factors=64, regularization=0.1, iterations=15)).fit(matrix).scores, one, k=10)
    assert als["hit_rate_10"] > 0.9
    half = hide_items(test, index, 0.5, seed=1, max_baskets=1000)
    assert recall_at(Cooccurrence().fit(matrix).scores, half, k=10) == 1.0
    unseen = hide_items(pd.DataFrame({"ticket_id": [1, 1], "sku": ["YY", "ZZ"]}), index, None, seed=0, max_baskets=10)
    assert rank_metrics(Cooccurrence().fit(matrix).scores, unseen, k=10) == {
        "hit_rate_10": 0.0, "ndcg_10": 0.0, "mrr": 0.0, "coverage_10": 0.1}  # a hidden SKU never seen is a miss


def test_weighting_is_the_same_for_training_rows_and_live_baskets():
    matrix = basket_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 0, 1, 2]), 3, 3)
    for scheme in ("bm25", "tfidf", "none"):
        weighting = Weighting.fit(matrix, scheme)
        whole = weighting.apply(matrix).toarray()
        row = weighting.apply(matrix[2]).toarray()
        assert np.allclose(whole[2], row[0])
    assert Weighting.fit(matrix, "bm25").apply(matrix).toarray()[1, 1] < Weighting.fit(matrix, "bm25").apply(
        matrix).toarray()[2, 2]  # item 1 is in every basket: lower idf than item 2
    with pytest.raises(ValueError, match="unknown weighting"):
        Weighting.fit(matrix, "log")


def test_a_warehouse_without_stock_snapshots_serves_without_the_stock_rule(settings):
    from training.crosssell import last_stock

    stock = last_stock(settings, date(2024, 1, 31))  # Online Retail-like data: no stock files at all
    assert list(stock.columns) == ["store_id", "sku", "on_hand"] and stock.empty
    result = fit(stock=stock).complete(["S1"], "L1", k=1)
    assert skus(result) == ["C1"] and not result.stock_checked
