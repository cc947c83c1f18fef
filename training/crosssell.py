"""``vitrine train crosssell`` / ``mlflow run . -e train_crosssell``: search, evaluate, fit, log, gate.

One run of the MLflow experiment ``cross-sell``:
1. read the newest ``basket_lines`` features; the last ``test_days`` are the test window;
2. **search** ALS hyper-parameters (factors, regularisation, alpha, iterations, BM25 / TF-IDF /
   no weighting) on the window before the test window: trial 0 is the default, the others are
   drawn at random from ``SEARCH_SPACE``; for each, the served mix with co-occurrence is scored at
   every weight of ``COOC_WEIGHTS``; each trial is a nested MLflow run with its HitRate@10 (ALS
   alone and the best mix); the best mix wins;
3. **evaluate** on the test window with training/crosssell_eval.py's protocol: ALS alone, the
   served mix and the baselines (popularity, co-occurrence, item-kNN);
4. fit the served recommender on every basket, with the catalogue (names, subcategories, margin)
   and the stock on hand at the last day; log it as a pyfunc, register ``cross-sell``.

Gate rule: the candidate is scored by the served mix's HitRate@10 on the test window (higher is
better). It is never promoted if it does not beat the popularity baseline. Otherwise, as for the
forecaster: promoted when there is no champion; when the champion has the same hyper-parameters
(refitted on newer data); or when the champion's hyper-parameters, scored on this very split (its
logged score if its split was the same feature run and window, else refitted now), score lower.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import latest_run
from features.reference import on_hand_at, products_with_margin
from models.basket_models import (
    WEIGHTINGS,
    Als,
    AlsParams,
    Cooccurrence,
    Hybrid,
    Popularity,
)
from models.crosssell import CrossSell, Rules, catalogue_table
from training.crosssell_eval import (
    ItemIndex,
    evaluate,
    hide_items,
    rank_metrics,
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
SEARCH_SPACE = {  # regularization per 1,000 training baskets (see AlsParams)
    "factors": (32, 64, 128),
    "regularization": (2.0, 5.0, 16.0, 50.0),
    "alpha": (20.0, 50.0, 150.0, 400.0),
    "iterations": (10, 15, 25),
    "weighting": WEIGHTINGS,
}
COOC_WEIGHTS = (0.0, 0.25, 0.5, 0.75)  # share of co-occurrence in the served mix; 0 is ALS alone
HISTORY_PER_CUSTOMER = 20  # a known customer's most recent SKUs kept for the fold-in


class CrossSellTrainingError(ValueError):
    """The basket data cannot support a recommender (no feature run, too few baskets)."""


@dataclass(frozen=True)
class CrossSellConfig:
    test_days: int = 28
    trials: int = 10
    k: int = 10
    max_eval_baskets: int = 20_000
    max_search_baskets: int = 5_000
    seed: int = 7


@dataclass
class CrossSellTraining:
    run_id: str
    version: str
    promoted: bool
    reason: str
    params: AlsParams
    cooc_weight: float
    trials: pd.DataFrame
    evaluation: pd.DataFrame
    seconds: dict[str, float]
    recommender: CrossSell | None


def load_lines(path: Path) -> pd.DataFrame:
    """Basket lines of a ``basket_lines`` feature run (ticket, SKU, day, store, customer)."""
    import pyarrow.dataset as ds

    lines = ds.dataset(str(path), format="parquet").to_table(
        columns=["ticket_id", "sku", "sold_on", "store_id", "customer_id"]).to_pandas()
    if lines.empty:
        raise CrossSellTrainingError(f"the feature table {path} is empty")
    lines["sold_on"] = pd.to_datetime(lines["sold_on"])
    return lines


def candidate_params(config: CrossSellConfig) -> list[AlsParams]:
    """Trial 0 is the default; the rest are distinct random draws from SEARCH_SPACE."""
    rng = np.random.default_rng(config.seed)
    trials, seen = [AlsParams(seed=config.seed)], {AlsParams(seed=config.seed)}
    for _ in range(config.trials * 20):
        if len(trials) >= config.trials:
            break
        drawn = AlsParams(**{k: type(v[0])(v[rng.integers(len(v))]) for k, v in SEARCH_SPACE.items()}, seed=config.seed)
        if drawn not in seen:
            trials.append(drawn)
            seen.add(drawn)
    return trials


def search(lines: pd.DataFrame, config: CrossSellConfig, log: bool = True,
           on_step: Callable[[str], None] = lambda _: None) -> pd.DataFrame:
    """Every trial on the window before the test window; one row per trial, the best mix first.

    ``hit_rate_10`` etc. are ALS alone; ``cooc_weight`` and ``served_hit_rate_10`` the best mix.
    """
    fit_part, validation = temporal_split(lines, config.test_days)
    index = ItemIndex.of(fit_part)
    matrix = index.matrix(fit_part)
    hidden = hide_items(validation, index, None, config.seed, config.max_search_baskets)
    cooc = Cooccurrence().fit(matrix)
    key = f"hit_rate_{config.k}"
    rows = []
    for n, params in enumerate(candidate_params(config)):
        on_step(f"search trial {n + 1}/{config.trials}")
        started = time.perf_counter()
        als = Als(params).fit(matrix)
        seconds = time.perf_counter() - started
        metrics = rank_metrics(als.scores, hidden, config.k)
        mixes = {w: rank_metrics(Hybrid(als, cooc, w).scores, hidden, config.k)[key] for w in COOC_WEIGHTS}
        weight = max(mixes, key=lambda w: (mixes[w], -w))
        rows.append({**asdict(params), **metrics, "cooc_weight": weight, f"served_{key}": mixes[weight],
                     "fit_seconds": seconds})
        if log:
            import mlflow

            with mlflow.start_run(run_name=f"trial-{n}", nested=True):
                mlflow.log_params(asdict(params))
                mlflow.log_metrics({**metrics, "cooc_weight": weight, f"served_{key}": mixes[weight],
                                    "fit_seconds": seconds})
    return pd.DataFrame(rows).sort_values(f"served_{key}", ascending=False, kind="stable").reset_index(drop=True)


def best_params(trials: pd.DataFrame) -> tuple[AlsParams, float]:
    """The best trial's ALS hyper-parameters and co-occurrence weight."""
    row = trials.iloc[0]
    params = AlsParams(**{f: type(getattr(AlsParams(), f))(row[f]) for f in AlsParams.__dataclass_fields__})
    return params, float(row["cooc_weight"])


def compare(lines: pd.DataFrame, params: AlsParams, cooc_weight: float, config: CrossSellConfig,
            baselines: bool = True) -> pd.DataFrame:
    """ALS alone, the served mix and (``baselines``) popularity, co-occurrence and item-kNN, fitted
    before and scored on the test window."""
    train, test = temporal_split(lines, config.test_days)
    index = ItemIndex.of(train)
    matrix = index.matrix(train)
    one = hide_items(test, index, None, config.seed, config.max_eval_baskets)
    half = hide_items(test, index, 0.5, config.seed, config.max_eval_baskets)
    als, cooc = Als(params).fit(matrix), Cooccurrence("conditional").fit(matrix)
    scorers = {"als": als.scores, "served": Hybrid(als, cooc, cooc_weight).scores}
    if baselines:
        scorers |= {"popularity": Popularity().fit(matrix).scores, "cooccurrence": cooc.scores,
                    "item_knn": Cooccurrence("cosine").fit(matrix).scores}
    return evaluate(scorers, one, half, config.k)


def train_crosssell(settings: Settings, config: CrossSellConfig | None = None, rules: Rules | None = None,
                    on_step: Callable[[str], None] = lambda _: None, evaluate_only: bool = False) -> CrossSellTraining:
    """The whole training run (see the module docstring)."""
    import mlflow


    config, rules = config or CrossSellConfig(), rules or Rules()
    run = latest_run(settings, "basket_lines")
    if run is None:
        raise CrossSellTrainingError("no basket_lines features yet: run `vitrine features build` first")
    lines = load_lines(run.path)
    days = lines["sold_on"].nunique()
    if days < 3 * config.test_days:
        raise CrossSellTrainingError(f"the baskets span {days} days; the search and the test need at least "
                                     f"{3 * config.test_days} (three windows of {config.test_days} days)")
    seconds: dict[str, float] = {}
    configure(settings, MODEL_NAME)
    with mlflow.start_run() as active:
        mlflow.log_params({**{f"config.{k}": v for k, v in asdict(config).items()}, **{
            f"rules.{k}": v for k, v in asdict(rules).items()}, "feature_run": run.run_id, "as_of": str(run.as_of)})
        started = time.perf_counter()
        train, _ = temporal_split(lines, config.test_days)
        trials = search(train, config, on_step=on_step)
        seconds["search"] = time.perf_counter() - started
        params, cooc_weight = best_params(trials)
        mlflow.log_params({**{f"als.{k}": v for k, v in asdict(params).items()}, "served.cooc_weight": cooc_weight})
        on_step("evaluation")
        started = time.perf_counter()
        evaluation = compare(lines, params, cooc_weight, config)
        seconds["evaluation"] = time.perf_counter() - started
        key = f"{run.run_id}:{config.test_days}:{config.seed}"
        tag_backtest(params_hash(params, cooc_weight), key)
        for row in evaluation.itertuples(index=False):
            for metric, value in row._asdict().items():
                if metric != "model":
                    mlflow.log_metric(f"{row.model}.{metric}", float(value))
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            trials.to_csv(folder / "search_trials.csv", index=False)
            evaluation.to_csv(folder / "evaluation.csv", index=False)
            mlflow.log_artifact(str(folder / "search_trials.csv"))
            mlflow.log_artifact(str(folder / "evaluation.csv"))
            if evaluate_only:
                mlflow.set_tag("evaluate_only", "true")
                return CrossSellTraining(active.info.run_id, "", False, "evaluation only: nothing registered", params,
                                         cooc_weight, trials, evaluation, seconds, None)
            on_step("final model")
            started = time.perf_counter()
            recommender = fit_recommender(settings, lines, params, cooc_weight, rules)
            seconds["final"] = time.perf_counter() - started
            from models.crosssell_pyfunc import log_crosssell

            version = log_crosssell(recommender, customer_histories(lines), folder / "model", MODEL_NAME)
        scores = evaluation.set_index("model")
        candidate = float(scores.loc["served", f"hit_rate_{config.k}"])
        blockers = [] if candidate > scores.loc["popularity", f"hit_rate_{config.k}"] else [
            "does not beat the popularity baseline"]
        decision = gate_against_champion(MODEL_NAME, version, GATE_METRIC, candidate, params_hash(params, cooc_weight),
                                         key, lambda champion: rescore(champion, lines, params, cooc_weight, config),
                                         lower_is_better=False, blockers=blockers)
    return CrossSellTraining(active.info.run_id, version, decision.promoted, decision.reason, params, cooc_weight, trials,
                             evaluation, seconds, recommender)


def fit_recommender(settings: Settings, lines: pd.DataFrame, params: AlsParams, cooc_weight: float, rules: Rules
                    ) -> CrossSell:
    """The served recommender, fitted on every basket, with the warehouse's catalogue and last stock."""
    index = ItemIndex.of(lines)
    matrix = index.matrix(lines)
    catalogue = catalogue_table(products_with_margin(settings))
    stock = last_stock(settings, lines["sold_on"].max().date())
    return CrossSell(index.skus, Als(params).fit(matrix), Cooccurrence().fit(matrix), catalogue, stock, rules,
                     cooc_weight)


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


def params_hash(params: AlsParams, cooc_weight: float) -> str:
    """What makes two candidates the same method."""
    return method_hash({**asdict(params), "cooc_weight": cooc_weight})


def rescore(champion, lines: pd.DataFrame, params: AlsParams, cooc_weight: float, config: CrossSellConfig) -> float:
    """The champion run's method (its logged ALS parameters and mix) on this split: its HitRate@k."""
    values = {k.removeprefix("als."): v for k, v in champion.data.params.items() if k.startswith("als.")}
    champion_params = replace(params, **{f: type(getattr(params, f))(values[f]) for f in AlsParams.__dataclass_fields__
                                         if f in values})
    weight = float(champion.data.params.get("served.cooc_weight", cooc_weight))
    scores = compare(lines, champion_params, weight, config, baselines=False).set_index("model")
    return float(scores.loc["served", f"hit_rate_{config.k}"])
