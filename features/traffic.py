"""Hourly traffic features per store × day × hour: the staffing model's training table.

The grid is every open day of a store (a day with at least one sale) × the store's trading hours
(the hours it has ever sold in), so an open hour with no customer is an explicit 0, and a closed
day is absent rather than a false 0. History comes from the same weekday and hour in earlier weeks.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from features.calendar import EPOCH
from features.definitions import TRAFFIC


def traffic_features(hourly: DataFrame, promotions: DataFrame, stores: DataFrame, calendar: DataFrame) -> DataFrame:
    """The ``traffic_hour`` feature set from gold.hourly_traffic (store_id, date, hour, tickets, items).

    ``promotions``, ``stores`` and ``calendar`` as for demand_features (calendar by day).
    """
    open_days = hourly.select("store_id", "date").distinct()
    hours = hourly.groupBy("store_id").agg(F.min("hour").alias("first"), F.max("hour").alias("last")) \
        .select("store_id", F.explode(F.sequence("first", "last")).alias("hour"))
    grid = open_days.join(F.broadcast(hours), "store_id") \
        .join(hourly.select("store_id", "date", "hour", "tickets", "items"), ["store_id", "date", "hour"], "left") \
        .fillna(0, ["tickets", "items"]) \
        .withColumn("day", F.datediff("date", F.lit(EPOCH))) \
        .withColumn("day_of_week", (F.dayofweek("date") + 5) % 7)

    same_slot = Window.partitionBy("store_id", "day_of_week", "hour").orderBy("day")
    grid = grid.select(
        "*",
        F.max("tickets").over(same_slot.rangeBetween(-7, -7)).alias("tickets_last_week"),
        F.avg("tickets").over(same_slot.rangeBetween(-28, -7)).alias("tickets_mean_4_weeks"),
        F.max("items").over(same_slot.rangeBetween(-7, -7)).alias("items_last_week"),
        F.avg("items").over(same_slot.rangeBetween(-28, -7)).alias("items_mean_4_weeks"),
        F.avg("tickets").over(same_slot.rangeBetween(Window.unboundedPreceding, -7))
        .alias("tickets_weekday_hour_profile"),
    )

    store_days = grid.groupBy("store_id", "date", "day").agg(F.sum("tickets").alias("day_tickets"))
    recent = Window.partitionBy("store_id").orderBy("day").rangeBetween(-28, -1)
    store_days = store_days.select("store_id", "date",
                                   F.avg("day_tickets").over(recent).alias("tickets_day_mean_4_weeks"))

    promo_days = promotions.select("store_id", F.explode(F.sequence("starts_on", "ends_on")).alias("date"))
    at_store = promo_days.where(F.col("store_id").isNotNull()).groupBy("store_id", "date") \
        .agg(F.count("*").alias("store_promos"))
    chain_wide = promo_days.where(F.col("store_id").isNull()).groupBy("date").agg(F.count("*").alias("chain_promos"))

    features = (
        grid.join(store_days, ["store_id", "date"], "left")
        .join(F.broadcast(at_store), ["store_id", "date"], "left")
        .join(F.broadcast(chain_wide), "date", "left")
        .withColumn("promotions_running", F.coalesce("store_promos", F.lit(0)) + F.coalesce("chain_promos", F.lit(0)))
        .join(F.broadcast(calendar), "date", "left")
        .withColumn("is_holiday", (F.col("holidays_in_period") > 0).cast("int"))
        .join(F.broadcast(stores.select("store_id", F.col("region").alias("store_region"))), "store_id", "left")
        .withColumn("month", F.month("date"))
    )
    return TRAFFIC.select(features)
