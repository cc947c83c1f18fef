"""Known-ahead demand features for days not sold yet: calendar, planned list price and promotion.

The feature build (demand.py) computes these columns for every past day; a forecast needs them
for the days it predicts, which have no sales rows. Both call the same rules (demand.py's
``regular_price`` and ``promo_depth``: the list price valid that day, the deepest promotion running
at the store or chain-wide), so the values are the same (tests/4_training/test_forecast.py compares
both on past days).
A few thousand series × 28 days: pandas, straight from the warehouse.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from features.calendar import calendar_frame
from features.demand import codes, promo_depth, regular_price
from warehouse.clickhouse import connect
from warehouse.settings import Settings


def planned_days(settings: Settings, series: pd.DataFrame, first: date, days: int) -> pd.DataFrame:
    """For each (store_id, sku) of ``series`` and each day of ``[first, first + days)``: the
    known-ahead columns of ``demand_day`` except ``units_lag_year`` (the caller has the history)."""
    return known_ahead(series, first, days, *plan_inputs(settings, first, days), settings.country)


def plan_inputs(settings: Settings, first: date, days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The price list and promotion rows in force over ``[first, first + days)``: catalogue-sized,
    so they can be shipped to every Spark executor that plans a store's days."""
    last = first + timedelta(days=days - 1)
    client = connect(settings)

    def frame(sql: str, columns: list[str]) -> pd.DataFrame:
        result = client.query(sql)  # query_df drops the columns of an empty result; keep them
        return pd.DataFrame(result.result_rows, columns=columns)

    prices = frame("SELECT sku, toFloat64(price), valid_from, valid_to FROM silver.prices "
                   f"WHERE valid_from <= '{last}' AND (valid_to IS NULL OR valid_to >= '{first}')",
                   ["sku", "price", "valid_from", "valid_to"])
    promotions = frame("SELECT sku, store_id, starts_on, ends_on, toFloat64(discount_pct) FROM silver.promotions "
                       f"WHERE starts_on <= '{last}' AND ends_on >= '{first}'",
                       ["sku", "store_id", "starts_on", "ends_on", "discount_pct"])
    return prices, promotions


def known_ahead(series: pd.DataFrame, first: date, days: int, prices: pd.DataFrame, promotions: pd.DataFrame,
                country: str = "BR") -> pd.DataFrame:
    """The known-ahead columns from price and promotion rows (see :func:`planned_days`)."""
    dates = pd.date_range(pd.Timestamp(first), periods=days, freq="D")
    grid = series[["store_id", "sku"]].drop_duplicates().merge(pd.DataFrame({"date": dates}), how="cross")

    store_names, store_of = codes(pa.array(grid["store_id"].astype(str)))
    sku_names, sku_of = codes(pa.array(grid["sku"].astype(str)))
    day = grid["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    grid["regular_price"] = regular_price(prices, sku_names, sku_of, day)
    depth = promo_depth(promotions, store_names, sku_names, store_of, sku_of, day)
    grid["promo_depth_pct"] = depth
    grid["promo_days_share"] = (depth > 0).astype(float)
    grid["price"] = grid["regular_price"] * (1 - depth / 100)
    grid["price_vs_regular"] = 1 - depth / 100

    calendar = calendar_frame(first, first + timedelta(days=days - 1), 1, country).assign(
        date=lambda f: pd.to_datetime(f["date"]))
    grid = grid.merge(calendar, on="date", how="left")
    grid["day_of_week"] = grid["date"].dt.day_of_week
    grid["day_of_month"] = grid["date"].dt.day
    grid["week_of_year"] = grid["date"].dt.isocalendar().week.astype(int)
    grid["month"] = grid["date"].dt.month
    return grid
