"""Demand features per store × SKU × period (day or week): the stock forecaster's training table.

One code path for both granularities: days are rolled up into periods first, then every history
feature is an offset over the dense series (see history.py). Width matters for speed on a few
cores: the series are shuffled once, with only the columns the windows need; the calendar and
attributes are small and joined after, by broadcast.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from features.calendar import EPOCH
from features.definitions import Granularity, demand
from features.history import History

FAR_FUTURE = date(9999, 12, 31)


def demand_features(daily: DataFrame, prices: DataFrame, promotions: DataFrame, stores: DataFrame,
                    products: DataFrame, calendar: DataFrame, granularity: Granularity) -> DataFrame:
    """The ``demand_<granularity>`` feature set (definitions.demand) from gold.daily_sales rows.

    ``daily``: store_id, sku, date, units, revenue, on_hand, observed (gold.daily_sales, dense per
    series: the days gold leaves out filled with 0 units and observed = 0); ``prices``: sku,
    price, valid_from, valid_to; ``promotions``: sku, store_id (null = chain-wide), starts_on,
    ends_on, discount_pct; ``stores``: store_id, region, state, opened_on; ``products``: sku,
    category, subcategory, brand, launched_on; ``calendar``: features.calendar.calendar_frame rows.
    """
    g = granularity
    days = _with_prices_and_promotions(daily, prices, promotions)
    periods = _roll_up(days, g).withColumn("period", F.floor(F.datediff("date", F.lit(EPOCH)) / g.period_days))
    h = History(Window.partitionBy("store_id", "sku").orderBy("period"))
    periods = h.with_running_totals(periods, {
        "run_units": F.col("units"),
        "run_units_sq": F.col("units") * F.col("units"),
        "run_unsold": (F.col("units") <= 0).cast("int"),
        "run_out": (F.coalesce("stockout_days", F.lit(0)) > 0).cast("int"),
    })
    history: dict[str, Column] = {f"units_lag_{k}": h.lag("units", k) for k in g.lags}
    history["units_lag_year"] = h.lag("units", g.year_lag)
    for w in g.windows:
        history[f"units_mean_{w}"] = h.mean("run_units", w)
        history[f"units_std_{w}"] = h.std("run_units", "run_units_sq", w)
        history[f"units_zero_share_{w}"] = h.mean("run_unsold", w)
    history[f"stockout_share_{g.stock_window}"] = h.mean("run_out", g.stock_window)
    history["on_hand_start"] = h.lag("on_hand_end", 1)
    history["regular_price_change_pct"] = 100 * (F.col("regular_price") / h.lag("regular_price", g.lags[-1]) - 1)
    history["series_age"] = h.age
    periods = h.add(periods, history).where(F.col("observed") == 1)  # rows gold has; filled gaps only served as history

    features = (
        periods.join(F.broadcast(calendar), "date", "left")
        .join(F.broadcast(stores.select("store_id", F.col("region").alias("store_region"),
                                        F.col("state").alias("store_state"), "opened_on")), "store_id", "left")
        .join(F.broadcast(products.select("sku", "category", "subcategory", "brand", "launched_on")), "sku", "left")
        # a catalogue without categories (Online Retail) still has a category × store level: one per store
        .withColumn("category", F.coalesce(F.col("category"), F.lit("(sem categoria)")))
        .withColumn("day_of_week", (F.dayofweek("date") + 5) % 7)
        .withColumn("day_of_month", F.dayofmonth("date"))
        .withColumn("week_of_year", F.weekofyear("date"))
        .withColumn("month", F.month("date"))
        .withColumn("price", F.col("regular_price") * (1 - F.col("promo_depth_pct") / 100))
        .withColumn("price_vs_regular", 1 - F.col("promo_depth_pct") / 100)
        .withColumn("out_of_stock_at_start", (F.col("on_hand_start") == 0).cast("int"))
        .withColumn("store_age_days", F.datediff("date", "opened_on"))
        .withColumn("days_since_launch", F.datediff("date", "launched_on"))
    )
    return demand(g).select(features)


def _with_prices_and_promotions(daily: DataFrame, prices: DataFrame, promotions: DataFrame) -> DataFrame:
    """Each day's list price (validity ranges made non-overlapping) and deepest promotion discount."""
    by_start = Window.partitionBy("sku").orderBy("valid_from")
    intervals = prices.select(
        "sku", F.col("price").alias("regular_price"), "valid_from",
        F.least(F.coalesce("valid_to", F.lit(FAR_FUTURE)),
                F.date_sub(F.lead("valid_from").over(by_start), 1)).alias("valid_until"),
    )
    d, p = daily.alias("d"), F.broadcast(intervals).alias("p")
    priced = d.join(p, (F.col("d.sku") == F.col("p.sku")) & F.col("d.date").between(F.col("p.valid_from"),
                    F.coalesce(F.col("p.valid_until"), F.lit(FAR_FUTURE))), "left") \
        .select("d.*", "p.regular_price")

    promo_days = promotions.select("sku", "store_id", "discount_pct",
                                   F.explode(F.sequence("starts_on", "ends_on")).alias("date"))
    at_store = promo_days.where(F.col("store_id").isNotNull()).groupBy("sku", "store_id", "date") \
        .agg(F.max("discount_pct").alias("store_depth"))
    chain_wide = promo_days.where(F.col("store_id").isNull()).groupBy("sku", "date") \
        .agg(F.max("discount_pct").alias("chain_depth"))
    return (
        priced.join(F.broadcast(at_store), ["sku", "store_id", "date"], "left")
        .join(F.broadcast(chain_wide), ["sku", "date"], "left")
        .withColumn("promo_depth", F.greatest(F.coalesce("store_depth", F.lit(0.0)),
                                              F.coalesce("chain_depth", F.lit(0.0))))
        .drop("store_depth", "chain_depth")
    )


def _roll_up(days: DataFrame, g: Granularity) -> DataFrame:
    """Days into periods: units and revenue summed, stock-out days counted, price at the start."""
    if g.period_days == 1:
        return days.select(
            "store_id", "sku", "date", "observed", "units", "revenue", "regular_price",
            (F.col("on_hand") == 0).cast("int").alias("stockout_days"),
            F.col("on_hand").alias("on_hand_end"),
            F.col("promo_depth").alias("promo_depth_pct"),
            (F.col("promo_depth") > 0).cast("double").alias("promo_days_share"),
        )
    start = F.date_sub("date", (F.datediff("date", F.lit(EPOCH)) % g.period_days).cast("int"))
    return days.groupBy("store_id", "sku", start.alias("period_start")).agg(
        F.max("observed").alias("observed"),
        F.sum("units").alias("units"),
        F.sum("revenue").alias("revenue"),
        F.min_by("regular_price", "date").alias("regular_price"),
        F.sum((F.col("on_hand") == 0).cast("int")).alias("stockout_days"),
        F.max_by("on_hand", "date").alias("on_hand_end"),
        F.avg("promo_depth").alias("promo_depth_pct"),
        F.avg((F.col("promo_depth") > 0).cast("double")).alias("promo_days_share"),
    ).withColumnRenamed("period_start", "date")
