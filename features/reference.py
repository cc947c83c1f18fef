"""What training reads from the warehouse besides the feature runs: stock on hand, the catalogue
with margins, ticket value per hour, shifts and promotions. Small tables (stores × SKUs at most),
read with pandas; the feature runs themselves come from Spark (build.py)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from warehouse.clickhouse import connect
from warehouse.settings import Settings


def on_hand_at(settings: Settings, day: date) -> pd.DataFrame:
    """Units on hand at the end of ``day`` per store × SKU, with the SKU's category."""
    return connect(settings).query_df(
        "SELECT d.store_id AS store_id, d.sku AS sku, toFloat64(d.on_hand) AS on_hand, p.category AS category "
        "FROM gold.daily_sales AS d LEFT JOIN silver.products AS p ON p.sku = d.sku "
        f"WHERE d.date = '{day}' AND d.on_hand IS NOT NULL")


def products_with_margin(settings: Settings) -> pd.DataFrame:
    """The catalogue with each SKU's latest monthly margin share ((price − cost) / price)."""
    return connect(settings).query_df(
        "SELECT p.sku AS sku, p.name AS name, p.category AS category, p.subcategory AS subcategory, "
        "p.brand AS brand, m.margin AS margin FROM silver.products AS p LEFT JOIN ("
        "  SELECT sku, argMax(margin_pct, month) / 100 AS margin FROM gold.product_margin_month GROUP BY sku"
        ") AS m ON m.sku = p.sku")


def ticket_value(settings: Settings, since: date, last: date) -> pd.DataFrame:
    """Each store's average ticket value per hour of the day over ``(since, last]``."""
    rows = connect(settings).query(
        "SELECT store_id, hour, toFloat64(sum(revenue) / sum(tickets)) FROM gold.hourly_traffic "
        f"WHERE date > '{since}' AND date <= '{last}' AND tickets > 0 GROUP BY store_id, hour").result_rows
    return pd.DataFrame(rows, columns=["store_id", "hour", "ticket_value"])


def shifts(settings: Settings, since: date) -> pd.DataFrame:
    """The scheduled shifts from ``since`` on, as the stores' wall-clock times."""
    rows = connect(settings).query("SELECT store_id, seller_id, shift_start, shift_end FROM silver.schedules "
                                   f"WHERE shift_start >= '{since}'").result_rows
    frame = pd.DataFrame(rows, columns=["store_id", "seller_id", "shift_start", "shift_end"])
    for column in ("shift_start", "shift_end"):  # the warehouse keeps wall-clock times in a DateTime('UTC') column
        stamps = pd.to_datetime(frame[column])
        frame[column] = stamps.dt.tz_localize(None) if stamps.dt.tz is not None else stamps
    return frame


def promotions_between(settings: Settings, first: date, last: date) -> list[tuple[str, date, date]]:
    """(store_id or '' for chain-wide, starts_on, ends_on) of the promotions running in ``[first, last]``."""
    return connect(settings).query(
        "SELECT ifNull(store_id, ''), starts_on, ends_on FROM silver.promotions "
        f"WHERE starts_on <= '{last}' AND ends_on >= '{first}'").result_rows
