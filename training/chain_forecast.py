"""The stock forecaster at chain scale: the backtest on a sample, every series scored on Spark.

A chain holds millions of store × SKU series; one process cannot hold their panel. So, when there
are more than ``VITRINE_FORECAST_DRIVER_SERIES`` (or ``VITRINE_FORECAST_ENGINE=spark``):

1. **Sample** (Spark): each series' intermittency over the last year, then a fixed budget of
   series drawn in proportion from every store × segment stratum. Only the sample's rows reach the
   driver, where the pool is backtested, blended and reconciled exactly as for a small retailer
   (training/forecast.py). What it chose travels to the executors as a
   :class:`models.ensemble.Choice`: the weights, the intervals, the fitted global LightGBM.
2. **Score** (Spark, one store per task): the store's panel and plan are built on the executor,
   the local members fitted there, the LightGBM predicts with the model it learnt; out come the
   unreconciled blends.
3. **Reconcile**: the anchor level's totals (a store's, the chain's: days × stores, small) are
   summed by Spark, fitted by the pool on the driver, and turned into one factor per group and
   day; the executors apply them, add the calibrated P10–P90, rank the stock alerts against the
   last stock snapshot, and write each store's files for publishing (warehouse/forecasts.py).

Nothing proportional to the number of series is collected to the driver: the sample, the totals
and each store's five riskiest alerts are.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from features.build import FeatureRun
from models.auto_forecast import FittedForecast
from models.ensemble import INTERMITTENT_ADI, AutoForecast
from models.panel import Panel
from models.pool import default_pool
from models.reconcile import aggregate_panel, factors
from models.stock_advice import Z_90
from training.units import UNIT_COLUMNS, tidy_units, units_panel
from warehouse.settings import Settings

TOP_ALERTS = 5  # per store, back to the driver for the run's report
SCORES = "store_id string, sku string, step int, mean double, segment string"
ALERTS = ("store_id string, sku string, on_hand double, days_of_cover double, stockout_date date, "
          "stockout_probability double, order_quantity long")
ALERT_COLUMNS = [field.split()[0] for field in ALERTS.split(", ")]


def series_count(run: FeatureRun) -> int:
    """How many store × SKU series the feature run holds (each runs to the last day of data)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(run.path), format="parquet")
    days = (pc.max(batch.column(0)).as_py() for batch in dataset.to_batches(columns=["date"]))  # streamed: flat memory
    last = max(day for day in days if day is not None)
    return dataset.count_rows(filter=ds.field("date") == last)


def sample_units(settings: Settings, run: FeatureRun, budget: int) -> tuple[pd.DataFrame, int]:
    """The daily units of at most about ``budget`` series (all when there are no more), drawn in
    proportion from each store × intermittency stratum; and how many series there are in all."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from features.spark import spark_session

    demand = spark_session(settings).read.parquet(str(run.path)).select(*UNIT_COLUMNS)
    last = demand.agg(F.max("date")).first()[0]
    recent = F.col("date") > F.date_sub(F.lit(last), 365)
    series = demand.groupBy("store_id", "sku").agg(
        F.sum(recent.cast("int")).alias("alive"), F.sum((recent & (F.col("units") > 0)).cast("int")).alias("selling"))
    series = series.withColumn("segment", F.when(
        F.col("alive") / F.greatest(F.col("selling"), F.lit(1)) >= INTERMITTENT_ADI, "intermittent").otherwise("smooth"))
    total = series.count()
    fraction = min(1.0, budget / max(total, 1))
    stratum = Window.partitionBy("store_id", "segment")
    keys = (series.withColumn("rank", F.row_number().over(stratum.orderBy(F.xxhash64("store_id", "sku"))))
            .withColumn("size", F.count("*").over(stratum))
            .where(F.col("rank") <= F.ceil(F.col("size") * F.lit(fraction))).select("store_id", "sku"))
    units = demand.join(F.broadcast(keys), ["store_id", "sku"]).toArrow()
    return tidy_units(units), total


def score_and_publish(settings: Settings, run: FeatureRun, fitted: FittedForecast, horizon: int, staging: Path,
                      advise: Callable[[pd.DataFrame, pd.DataFrame, date], pd.DataFrame],
                      on_step: Callable[[str], None]) -> pd.DataFrame:
    """Score every series of ``run`` on Spark with what ``fitted`` chose, write each store's
    forecasts and alerts (``advise(forecast, on_hand, last_day)``) into ``staging``; returns each
    store's riskiest alerts."""
    from pyspark.sql import functions as F

    from features.planned import known_ahead, plan_inputs
    from features.source import TableQuery, read, remove_handoff
    from features.spark import spark_session
    from warehouse import forecasts

    spark = spark_session(settings)
    demand = spark.read.parquet(str(run.path)).select(*UNIT_COLUMNS)
    first, last = (pd.Timestamp(v) for v in demand.agg(F.min("date"), F.max("date")).first())
    ahead = (last + pd.Timedelta(days=1)).date()
    prices, promotions = plan_inputs(settings, ahead, horizon)
    choice, country = fitted.auto.choice(), settings.country

    def score_store(rows: pd.DataFrame) -> pd.DataFrame:
        units = tidy_units(pa.Table.from_pandas(rows, preserve_index=False))
        pairs = units[["store_id", "sku"]].drop_duplicates().reset_index(drop=True)
        panel = units_panel(units, pairs, known_ahead(pairs, ahead, horizon, prices, promotions, country), country,
                            start=first)
        mean, segments = choice.blend(panel)
        segment = np.empty(len(pairs), object)
        for name, where in segments.items():
            segment[where] = name
        return pd.DataFrame({"store_id": np.repeat(pairs["store_id"].to_numpy(), horizon),
                             "sku": np.repeat(pairs["sku"].to_numpy(), horizon),
                             "step": np.tile(np.arange(1, horizon + 1, dtype=np.int32), len(pairs)),
                             "mean": mean.ravel(), "segment": np.repeat(segment, horizon)})

    scratch = settings.handoff_dir / f"scores-{staging.name.strip('.')}"
    try:
        on_step(f"scoring every series on Spark ({settings.spark_master})")
        demand.groupBy("store_id").applyInPandas(score_store, SCORES).write.mode("overwrite").parquet(str(scratch / "scores"))
        scores = spark.read.parquet(str(scratch / "scores"))
        on_step("reconciling with the stores' and the chain's totals")
        factor = anchor_factors(settings, fitted, demand, scores, first, last, horizon)
        on_hand = read(spark, settings, TableQuery(
            "gold.daily_sales", ("store_id", "sku", "toFloat64(on_hand) AS on_hand"),
            where=f"date = '{last.date()}' AND on_hand IS NOT NULL", slice_by="store_id"), scratch / "handoff")

        def finish_store(store_scores: pd.DataFrame, stock: pd.DataFrame) -> pd.DataFrame:
            if store_scores.empty:
                return pd.DataFrame(columns=ALERT_COLUMNS)
            table = store_scores.sort_values(["sku", "step"])
            store = str(table["store_id"].iloc[0])
            skus = table["sku"].to_numpy()[::horizon]
            mean = table["mean"].to_numpy(float).reshape(len(skus), horizon)
            mean = mean * factor.get(store, factor.get("all", np.ones(horizon)))[None, :]
            segment = table["segment"].to_numpy()[::horizon]
            low, high = choice.bounds(mean, {name: np.flatnonzero(segment == name) for name in set(segment)})
            forecast = pd.DataFrame({
                "store_id": store, "sku": np.repeat(skus, horizon),
                "date": np.tile(pd.date_range(ahead, periods=horizon).to_numpy(), len(skus)),
                "mean": mean.ravel(), "p10": low.ravel(), "p50": mean.ravel(), "p90": high.ravel()})
            forecast["sd"] = ((forecast["p90"] - forecast["mean"]) / Z_90).clip(lower=0)
            alerts = advise(forecast, stock.astype({"store_id": str, "sku": str}), last.date())
            forecasts.write_store(staging, store, forecast, alerts)
            top = alerts.sort_values("stockout_probability", ascending=False).head(TOP_ALERTS)
            return top[ALERT_COLUMNS]

        on_step("publishing each store's forecasts and stock alerts")
        risky = (scores.groupBy("store_id").cogroup(on_hand.groupBy("store_id"))
                 .applyInPandas(finish_store, ALERTS).toPandas())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        remove_handoff(scratch / "handoff")
    return risky


def anchor_factors(settings: Settings, fitted: FittedForecast, demand, scores, first: pd.Timestamp,
                   last: pd.Timestamp, horizon: int) -> dict[str, np.ndarray]:
    """Group (a store, or "all" for the chain) → the factor per day ahead that reconciles its
    series with the pool's forecast of its total, as the backtest chose (models/reconcile.py); empty
    when it chose bottom-up."""
    from pyspark.sql import functions as F

    reconciliation = fitted.auto.reconciliation
    if reconciliation is None or not reconciliation.anchors:
        return {}
    by_store = any(level == "store" for level, _ in reconciliation.anchors)
    group = F.col("store_id") if by_store else F.lit("all")
    totals = demand.groupBy(group.alias("group"), "date").agg(
        F.sum("units").alias("units"),
        F.sum((F.coalesce(F.col("stockout_days"), F.lit(0)) == 0).cast("int")).alias("observed")).toPandas()
    panel = totals_panel(totals, first, last, settings.country)
    summed = scores.groupBy(group.alias("group"), "step").agg(F.sum("mean").alias("mean")).toPandas()
    summed = summed.pivot(index="group", columns="step", values="mean").reindex(
        index=panel.ids, columns=range(1, horizon + 1)).fillna(0).to_numpy()
    auto, factor = fitted.auto, np.ones_like(summed)
    for level, weight in reconciliation.anchors:  # as models.reconcile.anchored, on the groups' sums
        whole = level == "chain" and by_store  # the chain after the stores: their sum, scaled alike
        own = aggregate_panel(panel, np.zeros(len(panel.ids), int)) if whole else panel
        pool = AutoForecast(own, default_pool(own, horizon), horizon, metric=auto.metric, folds=auto.folds,
                            intermittent_split=False).fit()
        step = factors(summed.sum(axis=0, keepdims=True) if whole else summed, pool.predict()[0], weight)
        summed, factor = summed * step, factor * step
    return dict(zip(panel.ids, factor))


def totals_panel(totals: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, country: str) -> Panel:
    """The panel of each group's daily total (``group, date, units, observed``), as
    models.reconcile.aggregate_panel builds it from the series: alive from the group's first
    series, scored where any of its series is."""
    index = pd.date_range(first, last, freq="D")
    groups = np.array(sorted(totals["group"].astype(str).unique()))
    frame = totals.assign(group=totals["group"].astype(str), date=pd.to_datetime(totals["date"]))
    units = frame.pivot(index="group", columns="date", values="units").reindex(index=groups, columns=index)
    observed = frame.pivot(index="group", columns="date", values="observed").reindex(index=groups, columns=index)
    values = units.to_numpy(float)
    alive = np.isfinite(values)
    return Panel(groups, index, values, alive & (np.nan_to_num(observed.to_numpy(float)) > 0), "D", country,
                 alive.any(axis=0), None)
