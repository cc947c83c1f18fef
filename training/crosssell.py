"""``vitrine train crosssell`` / ``mlflow run . -e train_crosssell``: choose, test, fit, log, gate.

One run of the MLflow experiment ``cross-sell``:
1. read the newest ``basket_lines`` features; the last ``test_days`` are the test window;
2. **choose** on the baskets before it, with the same selection as ``models.fit_recommender``
   (the public API; models/recommend.py): every scorer of the pool (popularity, co-occurrence,
   lift, item-kNN, EASE, ALS sized to the catalogue and a large ALS) scored on two time-ordered
   validation windows, a stepwise blend that adds a scorer only when it raises the hit rate, and
   the diversity rule kept only if its validation cost is within budget;
3. **test** on the test window with training/crosssell_eval.py's protocol: the chosen blend
   (``served``) and every scorer of the pool fitted alone on the same baskets;
4. fit the same selection on every basket, wrap it with the catalogue (names, subcategories,
   margin), the stock on hand at the last day and the business rules (models/crosssell.py); log
   it as a pyfunc, register ``cross-sell``.

Gate rule: the candidate is the blend's HitRate@10 on the test window (higher is better); never
promoted if it does not beat popularity there. It replaces the champion when there is none, when
the champion is this method fitted on older data, or when the champion's method cannot be scored
on this split (a model from before the pool).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import latest_run
from features.reference import on_hand_at, products_with_margin
from models.basket_models import Cooccurrence
from models.crosssell import CrossSell, Rules, catalogue_table
from models.recommend import RULE_BUDGET, Recommender, candidates, fit_recommender
from training.crosssell_eval import (
    ItemIndex,
    evaluate,
    hide_items,
    served_metrics,
    temporal_split,
)
from training.tracking import (
    configure,
    gate_against_champion,
    method_hash,
    tag_backtest,
)
from warehouse.settings import Settings

MODEL_NAME = "cross-sell"
GATE_METRIC = "served.hit_rate_10"
HISTORY_PER_CUSTOMER = 20  # a known customer's most recent SKUs kept for the fold-in
RULE_BASKETS = 5_000  # test baskets the served rules are measured on, each asked as a seller asks
MARGIN_SHARES = (1.0, 0.5, 0.25)  # of the configured margin weight, tried largest first


class CrossSellTrainingError(ValueError):
    """The basket data cannot support a recommender (no feature run, too few baskets)."""


@dataclass(frozen=True)
class CrossSellConfig:
    test_days: int = 28
    k: int = 10
    max_eval_baskets: int = 20_000
    seed: int = 7
    max_lines: int = 5_000_000  # the newest baskets up to this many lines (all of medium's): bounded memory at chain scale


@dataclass
class CrossSellTraining:
    run_id: str
    version: str
    promoted: bool
    reason: str
    weights: dict[str, float]  # the blend chosen on the validation windows
    validation: dict[str, float]  # HitRate@10 of each scorer and of the blend there
    rule_costs: dict[str, float]  # soft rule → relative HitRate@10 it cost on validation
    evaluation: pd.DataFrame  # the test window: served and every scorer alone
    seconds: dict[str, float]
    recommender: CrossSell | None
    rules_check: RulesCheck | None = None


@dataclass
class RulesCheck:
    """The served recommender's soft rules measured on the test window (see :func:`check_rules`)."""

    rules: Rules  # as served: a rule over budget is off, the margin boost at the largest weight within it
    costs: dict[str, float]  # rule → relative HitRate@k it costs, the other rules on (negative: it helps)
    served: dict[str, float]  # HitRate@k and margin-weighted HitRate@k with ``rules``
    without_margin: dict[str, float]  # the same with the margin boost off


def load_lines(path: Path, max_lines: int | None = None) -> pd.DataFrame:
    """Basket lines of a ``basket_lines`` feature run (ticket, SKU, day, store, customer): the
    newest whole days up to ``max_lines`` lines, so the one process that fits the recommender holds
    a bounded number of baskets however long the history and large the chain (the newest baskets
    say most about what sells together now)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(path), format="parquet")
    newest_first = None
    if max_lines is not None:
        counted = pc.value_counts(dataset.to_table(columns=["sold_on"]).column("sold_on"))
        per_day = pd.Series(counted.field("counts").to_numpy(), index=counted.field("values").to_pandas())
        per_day = per_day.sort_index(ascending=False)
        within = (per_day.cumsum() <= max_lines).to_numpy()
        within[:1] = True  # the newest day whatever its size
        if not within.all():
            newest_first = ds.field("sold_on") >= per_day.index[within].min()
    lines = dataset.to_table(columns=["ticket_id", "sku", "sold_on", "store_id", "customer_id"],
                             filter=newest_first).to_pandas()
    if lines.empty:
        raise CrossSellTrainingError(f"the feature table {path} is empty")
    lines["sold_on"] = pd.to_datetime(lines["sold_on"])
    return lines


def baskets_of(lines: pd.DataFrame) -> list[list[str]]:
    """Each ticket's SKUs, oldest ticket first (the validation windows are the newest baskets).
    A ticket's lines are gathered by one stable sort of its number (a pandas groupby into lists
    took 11 of the 1M-line fit's seconds)."""
    ordered = lines.sort_values(["sold_on", "ticket_id"], kind="stable")
    if ordered.empty:
        return []
    tickets, _ = pd.factorize(ordered["ticket_id"])  # numbered oldest first
    skus = ordered["sku"].astype(str).to_numpy()[np.argsort(tickets, kind="stable")]
    return [basket.tolist() for basket in np.split(skus, np.cumsum(np.bincount(tickets))[:-1])]


def compare(lines: pd.DataFrame, catalogue: pd.DataFrame, config: CrossSellConfig) -> tuple[pd.DataFrame, Recommender]:
    """The blend chosen on the baskets before the test window, and every scorer of the pool fitted
    alone on them, scored on the test window; and the chosen blend."""
    train, test = temporal_split(lines, config.test_days)
    index = ItemIndex.of(train)
    blend = fit_recommender(baskets_of(train), catalogue, seed=config.seed)
    assert list(blend.skus) == list(index.skus), "the blend and the test harness number SKUs alike"
    one = hide_items(test, index, None, config.seed, config.max_eval_baskets)
    half = hide_items(test, index, 0.5, config.seed, config.max_eval_baskets)
    matrix = index.matrix(train)
    # the scorers the blend uses were fitted on these very baskets already
    alone = {s.name: blend.scorers[s.name] if s.name in blend.scorers else s.fit(matrix) for s in candidates(len(index))}
    scorers = {"served": blend.scores, **{name: scorer.scores for name, scorer in alone.items()}}
    return evaluate(scorers, one, half, config.k), blend


def train_crosssell(settings: Settings, config: CrossSellConfig | None = None, rules: Rules | None = None,
                    on_step: Callable[[str], None] = lambda _: None, evaluate_only: bool = False) -> CrossSellTraining:
    """The whole training run (see the module docstring)."""
    import mlflow

    config, rules = config or CrossSellConfig(), rules or Rules()
    run = latest_run(settings, "basket_lines")
    if run is None:
        raise CrossSellTrainingError("no basket_lines features yet: run `vitrine features build` first")
    lines = load_lines(run.path, config.max_lines)
    days = lines["sold_on"].nunique()
    if days < 2 * config.test_days:
        raise CrossSellTrainingError(f"the baskets span {days} days; choosing and testing need at least "
                                     f"{2 * config.test_days} (two windows of {config.test_days} days)")
    catalogue = products_with_margin(settings)
    seconds: dict[str, float] = {}
    configure(settings, MODEL_NAME)
    with mlflow.start_run() as active, tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        mlflow.log_params({**{f"config.{k}": v for k, v in asdict(config).items()}, **{
            f"rules.{k}": v for k, v in asdict(rules).items()}, "feature_run": run.run_id, "as_of": str(run.as_of)})
        on_step("choosing the blend and testing it")
        started = time.perf_counter()
        try:
            evaluation, blend = compare(lines, catalogue, config)
        except ValueError as exc:
            raise CrossSellTrainingError(str(exc)) from exc
        seconds["choose_and_test"] = time.perf_counter() - started
        on_step("measuring the business rules")
        started = time.perf_counter()
        rules_check = check_rules(*temporal_split(lines, config.test_days), blend, catalogue, rules, config)
        rules = rules_check.rules
        seconds["rules"] = time.perf_counter() - started
        key = f"{run.run_id}:{config.test_days}:{config.seed}"
        tag_backtest(config_hash(), key)
        _log_choice(blend, evaluation, rules_check, folder)
        if evaluate_only:
            mlflow.set_tag("evaluate_only", "true")
            return CrossSellTraining(active.info.run_id, "", False, "evaluation only: nothing registered", blend.weights,
                                     blend.validation, blend.rule_costs, evaluation, seconds, None, rules_check)
        on_step("final model")
        started = time.perf_counter()
        recommender = fit_served(settings, lines, catalogue, rules, config)
        seconds["final"] = time.perf_counter() - started
        from training.registration import log_crosssell

        version = log_crosssell(recommender, customer_histories(lines), folder / "model", MODEL_NAME)
        scores = evaluation.set_index("model")
        candidate = float(scores.loc["served", f"hit_rate_{config.k}"])
        blockers = [] if candidate > scores.loc["popularity", f"hit_rate_{config.k}"] else [
            "does not beat the popularity baseline"]
        decision = gate_against_champion(MODEL_NAME, version, GATE_METRIC, candidate, config_hash(), key,
                                         rescore=lambda champion: None, lower_is_better=False, blockers=blockers)
    return CrossSellTraining(active.info.run_id, version, decision.promoted, decision.reason, blend.weights,
                             blend.validation, blend.rule_costs, evaluation, seconds, recommender, rules_check)


def fit_served(settings: Settings, lines: pd.DataFrame, catalogue: pd.DataFrame, rules: Rules,
               config: CrossSellConfig) -> CrossSell:
    """The served recommender: the selection refitted on every basket, with the catalogue, the last
    stock and the rules (the diversity cap off when validation found it too costly)."""
    chosen = fit_recommender(baskets_of(lines), catalogue, seed=config.seed)
    if chosen.rule_costs.get("max_per_group", 0.0) > RULE_BUDGET:  # on every basket, it may decide otherwise
        rules = replace(rules, max_per_group=0)
    index = ItemIndex.of(lines)
    cooc = Cooccurrence().fit(index.matrix(lines))
    stock = last_stock(settings, lines["sold_on"].max().date())
    return CrossSell(chosen.skus, chosen, cooc, catalogue_table(catalogue), stock, rules)


def check_rules(train: pd.DataFrame, test: pd.DataFrame, blend: Recommender, catalogue: pd.DataFrame, rules: Rules,
                config: CrossSellConfig) -> RulesCheck:
    """The soft rules of the served wrapper (near-duplicates, the margin boost) measured, not assumed:
    the recommender chosen on ``train`` (``blend``), wrapped with the catalogue and ``rules``, asked
    for each test basket as a seller asks. A rule whose cost is over ``RULE_BUDGET`` of the hits is
    switched off; the margin boost keeps the largest share of its weight within the budget. Out of
    stock is a hard rule (never measured: it is not for sale). The diversity cap was decided on the
    validation windows (``blend.rule_costs``)."""
    if blend.rule_costs.get("max_per_group", 0.0) > RULE_BUDGET:
        rules = replace(rules, max_per_group=0)
    index = ItemIndex(blend.skus)
    items = hide_items(test, index, None, config.seed, min(config.max_eval_baskets, RULE_BASKETS))
    served = CrossSell(blend.skus, blend, Cooccurrence().fit(index.matrix(train)), catalogue_table(catalogue),
                       None, rules)

    def measure(chosen: Rules) -> dict[str, float]:
        return served_metrics(served.with_rules(chosen), items, config.k)

    def cost(on: dict[str, float], off: dict[str, float]) -> float:
        hit = f"hit_rate_{config.k}"
        return 1.0 - on[hit] / off[hit] if off[hit] > 0 else 0.0

    costs: dict[str, float] = {}
    without_margin = measure(replace(rules, margin_weight=0.0))
    weight, with_margin = 0.0, without_margin
    for share in MARGIN_SHARES if rules.margin_weight else ():
        trial = measure(replace(rules, margin_weight=rules.margin_weight * share))
        if share == 1.0:
            costs["margin_boost"] = cost(trial, without_margin)
        if cost(trial, without_margin) <= RULE_BUDGET:
            weight, with_margin = rules.margin_weight * share, trial
            break
    rules = replace(rules, margin_weight=weight)
    if rules.drop_near_duplicates and served.variant_lift < 1.0:  # otherwise the rule removes nothing
        kept = measure(replace(rules, drop_near_duplicates=False))
        costs["near_duplicates"] = cost(with_margin, kept)
        if costs["near_duplicates"] > RULE_BUDGET:
            rules, with_margin = replace(rules, drop_near_duplicates=False), kept
    return RulesCheck(rules, costs, with_margin, without_margin)


def _log_choice(blend: Recommender, evaluation: pd.DataFrame, rules_check: RulesCheck, folder: Path) -> None:
    """The test window's metrics per scorer, the validation hit rates, the weights and the rules'
    costs (the diversity cap's on validation; the served wrapper's on the test window)."""
    import mlflow

    mlflow.log_metrics({**{f"served_rules.{name}": value for name, value in rules_check.served.items()},
                        **{f"no_margin_boost.{name}": value for name, value in rules_check.without_margin.items()},
                        **{f"rule_cost.{name}": value for name, value in rules_check.costs.items()},
                        "rules.served_margin_weight": rules_check.rules.margin_weight})

    for row in evaluation.itertuples(index=False):
        for metric, value in row._asdict().items():
            if metric != "model":
                mlflow.log_metric(f"{row.model}.{metric}", float(value))
    mlflow.log_metrics({f"validation.{name}.hit_rate_10": value for name, value in blend.validation.items()})
    mlflow.log_metrics({f"rule_cost.{name}": value for name, value in blend.rule_costs.items()})
    mlflow.set_tag("weights", json.dumps(blend.weights))
    evaluation.to_csv(folder / "evaluation.csv", index=False)
    (folder / "choice.json").write_text(json.dumps({"weights": blend.weights, "validation": blend.validation,
                                                    "rule_costs": {**blend.rule_costs, **rules_check.costs},
                                                    "served_rules": asdict(rules_check.rules)}, indent=2))
    mlflow.log_artifact(str(folder / "evaluation.csv"))
    mlflow.log_artifact(str(folder / "choice.json"))


def last_stock(settings: Settings, day) -> pd.DataFrame:
    """On hand per store × SKU at the end of ``day`` (empty where the data has no stock snapshots)."""
    stock = on_hand_at(settings, day)
    return stock[["store_id", "sku", "on_hand"]] if len(stock) else pd.DataFrame(columns=["store_id", "sku", "on_hand"])


def customer_histories(lines: pd.DataFrame) -> pd.DataFrame:
    """Each known customer's most recent distinct SKUs (at most HISTORY_PER_CUSTOMER)."""
    known = lines[lines["customer_id"].fillna("") != ""]
    recent = known.groupby(["customer_id", "sku"], as_index=False)["sold_on"].max()
    recent = recent.sort_values(["customer_id", "sold_on"], ascending=[True, False])
    return recent.groupby("customer_id").head(HISTORY_PER_CUSTOMER)[["customer_id", "sku"]].reset_index(drop=True)


def config_hash() -> str:
    """What makes two candidates the same method: the selection (this code)."""
    return method_hash({"engine": "pool"})
