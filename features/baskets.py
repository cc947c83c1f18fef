"""Basket features for the cross-sell recommender: the ticket × SKU and customer × SKU matrices.

A basket is a ticket's SKUs bought (units > 0 after returns on the same ticket). Tickets with more
than gold.MAX_BASKET_SKUS distinct SKUs are bulk orders and are left out, as in the gold pair
statistics. Rows carry dense matrix indexes (``basket_idx``, ``item_idx``) and an ``idf`` rarity
weight, so the recommender builds its sparse matrix without another pass.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from features.definitions import BASKET_LINES, CUSTOMER_ITEMS
from warehouse.gold import MAX_BASKET_SKUS


def basket_lines(sales: DataFrame) -> DataFrame:
    """The ``basket_lines`` set from sales lines (ticket_id, store_id, customer_id, sku, quantity, sold_on)."""
    lines = sales.groupBy("ticket_id", "sku").agg(
        F.sum("quantity").alias("units"),
        F.first("store_id").alias("store_id"),
        F.max(F.coalesce("customer_id", F.lit(""))).alias("customer_id"),
        F.min("sold_on").alias("sold_on"),
    ).where(F.col("units") > 0)
    lines = lines.withColumn("basket_size", F.count("*").over(Window.partitionBy("ticket_id"))) \
        .where(F.col("basket_size") <= MAX_BASKET_SKUS).cache()

    baskets = lines.select("ticket_id").distinct().orderBy("ticket_id").rdd.map(lambda r: r[0]).zipWithIndex() \
        .toDF(["ticket_id", "basket_idx"])
    item_baskets = lines.groupBy("sku").agg(F.count("*").alias("n"))
    items = item_baskets.select("sku", "n", (F.row_number().over(Window.orderBy("sku")) - 1).alias("item_idx"))
    total = baskets.count()
    out = lines.join(baskets, "ticket_id").join(F.broadcast(items), "sku") \
        .withColumn("idf", F.log(F.lit(float(max(total, 1))) / F.col("n")))
    return BASKET_LINES.select(out)


def customer_items(lines: DataFrame) -> DataFrame:
    """The ``customer_items`` set from basket lines of known customers."""
    known = lines.where(F.col("customer_id") != "")
    out = known.groupBy("customer_id", "sku").agg(
        F.count("*").alias("baskets"), F.sum("units").alias("units"), F.max("sold_on").alias("last_bought"))
    return CUSTOMER_ITEMS.select(out)
