"""The cross-sell recommender end to end on generated data whose complementary pairs are known
(verdade.json): the planted pairs come out on top, ALS beats popularity on held-out baskets, the
MLflow model loads from the registry and answers baskets with unknown SKUs, the gate refreshes a
same-configuration champion, and too little data is a clear error."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest

from models.crosssell import Rules
from models.recommend import RULE_BUDGET
from tests.conftest import generated_warehouse
from training.crosssell import (
    MODEL_NAME,
    CrossSellConfig,
    CrossSellTrainingError,
    train_crosssell,
)
from training.crosssell_eval import temporal_split
from training.tracking import configure
from warehouse import generator
from warehouse.clickhouse import close_all

SCALE = generator.Scale(stores=4, skus=200, days=150, tickets_per_store_day=80)
CONFIG = CrossSellConfig(test_days=21)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    settings = generated_warehouse(tmp_path_factory.mktemp("crosssell") / "home", SCALE, 5, ("basket_lines",))
    result = train_crosssell(settings, CONFIG)
    yield settings, result
    close_all()


def planted_pairs(settings) -> list[dict]:
    return json.loads((settings.home / "data" / "verdade.json").read_text())["complementary_pairs"]


def test_planted_pairs_come_out_on_top_with_their_share(trained):
    settings, result = trained
    recommender = result.recommender
    pairs = [p for p in planted_pairs(settings) if p["sku_a"] in recommender.column]
    assert len(pairs) >= 10
    found = 0
    for pair in pairs:
        top = recommender.complete([pair["sku_a"]], k=3).items
        hit = next((s for s in top if s.sku == pair["sku_b"]), None)
        if hit is not None:
            found += 1
            share = int(hit.reason.split(" em ")[1].split("%")[0])
            assert abs(share / 100 - pair["p_b_given_a"]) < 0.12, (pair, hit.reason)  # the planted P(b | a)
    assert found / len(pairs) >= 0.9, (found, len(pairs))


def test_the_blend_beats_popularity_on_held_out_baskets_and_its_choice_is_logged(trained):
    settings, result = trained
    scores = result.evaluation.set_index("model")
    assert {"served", "popularity", "cooccurrence", "item_knn", "lift", "als_sized", "als_large", "ease"} == set(
        scores.index)
    assert scores.loc["served", "hit_rate_10"] > 1.05 * scores.loc["popularity", "hit_rate_10"]
    assert scores.loc["cooccurrence", "hit_rate_10"] > scores.loc["popularity", "hit_rate_10"]
    assert (scores["baskets"] > 1000).all()
    # on validation the blend is never below its best scorer, and its weights add up
    best_single = max(v for name, v in result.validation.items() if name != "blend")
    assert result.validation["blend"] >= best_single - 1e-12 and abs(sum(result.weights.values()) - 1) < 1e-9
    configure(settings, MODEL_NAME)
    run = mlflow.get_run(result.run_id)
    assert json.loads(run.data.tags["weights"]) == result.weights
    assert {f"validation.{name}.hit_rate_10" for name in result.validation} <= set(run.data.metrics)
    assert "served.hit_rate_10" in run.data.metrics


def test_the_served_rules_are_measured_on_held_out_baskets_and_logged(trained):
    """The margin boost and the near-duplicate rule are costed on the test window as a seller asks
    (``complete``), kept only within the budget, and the margin-weighted hit rate is reported."""
    settings, result = trained
    check = result.rules_check
    assert set(check.costs) >= {"margin_boost"} and check.rules.margin_weight in (0.2, 0.1, 0.05, 0.0)
    assert 0 < check.served["hit_rate_10"] <= 1 and 0 < check.served["margin_hit_rate_10"] <= 1
    assert 1 - check.served["hit_rate_10"] / check.without_margin["hit_rate_10"] <= RULE_BUDGET + 1e-9
    assert result.recommender.rules == check.rules  # the served model carries the measured rules
    configure(settings, MODEL_NAME)
    metrics = mlflow.get_run(result.run_id).data.metrics
    assert {"rule_cost.margin_boost", "served_rules.hit_rate_10", "served_rules.margin_hit_rate_10",
            "no_margin_boost.margin_hit_rate_10"} <= set(metrics)


def test_a_margin_boost_that_costs_hits_is_turned_down(trained):
    """A boost ten times the default reorders the lists by margin alone: it costs far more than the
    budget, so the served weight is a smaller share of it, within the budget, or none."""
    from features.build import latest_run
    from features.reference import products_with_margin
    from models.recommend import fit_recommender
    from training.crosssell import baskets_of, check_rules, load_lines

    settings, _ = trained
    lines = load_lines(latest_run(settings, "basket_lines").path)
    catalogue = products_with_margin(settings)
    train, test = temporal_split(lines, CONFIG.test_days)
    blend = fit_recommender(baskets_of(train), catalogue, seed=CONFIG.seed)  # as the training run chooses it
    greedy = check_rules(train, test, blend, catalogue, Rules(margin_weight=2.0), CONFIG)
    assert greedy.costs["margin_boost"] > 5 * RULE_BUDGET  # measured at the full weight
    assert greedy.rules.margin_weight < 2.0
    assert 1 - greedy.served["hit_rate_10"] / greedy.without_margin["hit_rate_10"] <= RULE_BUDGET + 1e-9
    off = check_rules(train, test, blend, catalogue, Rules(margin_weight=0.0), CONFIG)
    assert "margin_boost" not in off.costs and off.served == off.without_margin


def test_the_champion_loads_from_the_registry_and_answers_any_basket(trained):
    settings, result = trained
    assert result.promoted and result.reason == "no champion yet"
    configure(settings, MODEL_NAME)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    pair = planted_pairs(settings)[0]
    answer = model.predict(pd.DataFrame({"basket": [f"{pair['sku_a']},NOPE", "NOPE,NADA"], "store_id": ["L001", "L001"],
                                         "customer_id": [None, None], "k": [3, 2]}))
    first, second = answer[answer["request"] == 0], answer[answer["request"] == 1]
    assert list(first["rank"]) == [1, 2, 3] and (first["unknown"] == "NOPE").all()
    assert (first["source"] == "basket").all() and pair["sku_a"] not in set(first["sku"])
    assert len(second) == 2 and (second["source"] == "popular").all() and (second["unknown"] == "NOPE,NADA").all()
    assert first["reason"].str.len().gt(10).all()


def test_a_refit_with_the_same_configuration_takes_over(trained):
    settings, first = trained
    again = train_crosssell(settings, CONFIG)
    assert again.weights == first.weights
    assert again.promoted and again.reason == "same configuration as the champion, fitted on newer data"
    evaluation = train_crosssell(settings, CONFIG, evaluate_only=True)
    assert evaluation.version == "" and evaluation.recommender is None


def test_a_line_budget_keeps_the_newest_whole_days(trained):
    from features.build import latest_run
    from training.crosssell import load_lines

    settings, _ = trained
    path = latest_run(settings, "basket_lines").path
    every = load_lines(path)
    per_day = every.groupby("sold_on").size().sort_index(ascending=False)
    budget = int(per_day.iloc[:40].sum()) + 5  # 40 days and a bit: the 41st day would not fit
    kept = load_lines(path, budget)
    assert sorted(kept["sold_on"].unique()) == sorted(per_day.index[:40]) and len(kept) == budget - 5
    assert len(load_lines(path, 1)) == per_day.iloc[0]  # the newest day whatever its size
    assert len(load_lines(path, 10 ** 9)) == len(every)


def test_too_few_days_of_baskets_is_a_clear_error(trained):
    settings, _ = trained
    with pytest.raises(CrossSellTrainingError, match="at least 200"):
        train_crosssell(settings, CrossSellConfig(test_days=100))


def test_baskets_are_tickets_oldest_first_whatever_the_lines_order():
    """A ticket's lines come together in the order they were read, tickets by day then number,
    and SKU ids are text."""
    from training.crosssell import baskets_of

    lines = pd.DataFrame({
        "ticket_id": ["T2", "T1", "T2", "T3", "T1"],
        "sku": [20, "P1", "P7", "P9", "P3"],
        "sold_on": pd.to_datetime(["2026-10-02", "2026-10-02", "2026-10-02", "2026-10-01", "2026-10-02"])})
    assert baskets_of(lines) == [["P9"], ["P1", "P3"], ["20", "P7"]]
    assert baskets_of(lines.iloc[:0]) == []
