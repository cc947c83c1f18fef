"""The figures the service answers sellers and managers with, published by the pipeline as files.

The service never opens the warehouse (the embedded one admits a single process, and the pipeline
owns it while it runs), so each pipeline run ends by publishing what the live endpoints need as a
few Parquet files under ``VITRINE_HOME/serving/figures``: the sellers, their targets, the
commission rules, the catalogue with margins, each seller's recent sales by day and category (and
the products they sold in the last 90 days), the
stores' monthly KPIs, what a posted sale is judged against (the price list, the promotions and
a digest of every line the warehouse holds), and, one file per store, each SKU's last weeks there.
The folder is written aside and swapped in, so the service reads either the old set or the new one,
never half of each (a store's SKU history is read when first asked: a set swapped in meanwhile gives
the newer history). ``meta.json`` says up to which posted sale
(warehouse/live_sales.py) the warehouse holds, so the service adds the later ones itself.
"""

from __future__ import annotations

import itertools
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from clickhouse_connect.driver.client import Client

from warehouse import gold, live_sales, sale_rules
from warehouse.local_files import replace_folder, store_file
from warehouse.settings import Settings

SALES_DAYS = 92  # the seller sales kept: this month, last month and a quarter for the category mix
KPI_MONTHS = 13  # a year of months, plus the month a year before for growth
SOLD_DAYS = 90  # "the products a seller sells": what they sold in these last days (promotions pushed to them)
HISTORY_DAYS = 56  # each SKU's history per store: under its forecast's fan chart, and its trend


QUERIES = {
    "sellers": "SELECT seller_id, store_id, ifNull(name, seller_id) AS name, ifNull(role, 'seller') AS role "
               "FROM silver.sellers ORDER BY seller_id",
    "stores": "SELECT store_id, ifNull(name, store_id) AS name, ifNull(city, '') AS city, ifNull(region, '') AS region "
              "FROM silver.stores ORDER BY store_id",
    "targets": "SELECT seller_id, month, toFloat64(target_amount) AS target FROM silver.targets "
               "WHERE month >= toStartOfMonth({through:Date}) - INTERVAL 1 MONTH",
    "rules": "SELECT kind, category, toFloat64(ifNull(min_attainment_pct, 0)) AS min_attainment_pct, "
             "toFloat64(rate) AS rate FROM silver.commission_rules",
    "products": """
        SELECT p.sku AS sku, ifNull(p.name, p.sku) AS name, ifNull(p.category, '') AS category,
               ifNull(p.brand, '') AS brand, m.avg_price AS price, m.avg_cost AS cost, m.margin_pct AS margin_pct
        FROM silver.products AS p
        LEFT JOIN (SELECT sku, argMax(avg_price, month) AS avg_price, argMax(avg_cost, month) AS avg_cost,
                          argMax(margin_pct, month) AS margin_pct
                   FROM gold.product_margin_month WHERE month <= {through:Date} GROUP BY sku) AS m ON m.sku = p.sku
        ORDER BY sku SETTINGS join_use_nulls = 1""",
    # tickets: each ticket counted once, on the row of its first category (so rows add up)
    "seller_sales": """
        WITH lines AS (
            SELECT s.seller_id AS seller_id, s.store_id AS store_id, toDate(s.sold_at) AS date, s.ticket_id AS ticket_id,
                   ifNull(p.category, '') AS category, s.quantity AS quantity,
                   toFloat64(s.quantity * s.unit_price - ifNull(s.discount, 0)) AS revenue
            FROM silver.sales AS s LEFT JOIN silver.products AS p ON p.sku = s.sku
            WHERE s.sold_at >= {through:Date} - {days:UInt32} SETTINGS join_use_nulls = 1
        )
        SELECT seller_id, store_id, date, category, sum(revenue) AS revenue,
               uniqExactIf(ticket_id, category = first_category) AS tickets, sum(quantity) AS units
        FROM lines INNER JOIN (SELECT ticket_id, min(category) AS first_category FROM lines GROUP BY ticket_id) AS t
            USING ticket_id
        GROUP BY seller_id, store_id, date, category""",
    # the products each seller sold lately: a new promotion on one of them is pushed to the seller
    "seller_skus": """
        SELECT seller_id, sku FROM silver.sales WHERE sold_at >= {through:Date} - {sold_days:UInt32}
        GROUP BY seller_id, sku HAVING sum(quantity) > 0 ORDER BY seller_id, sku""",
    # every seller's sales per day over all the warehouse holds: the history by period
    # (serving/sales_history.py); tickets counted as the traffic counts them, sales tickets only
    "seller_day": f"""
        SELECT seller_id, toDate(sold_at) AS date, toFloat64(sum({gold.NET})) AS revenue,
               toUInt32(uniqExactIf(ticket_id, quantity > 0)) AS tickets
        FROM silver.sales GROUP BY seller_id, date ORDER BY seller_id, date""",
    # every seller's months as the warehouse closed them: target and commission by the rules
    "seller_month": """
        SELECT seller_id, month, toFloat64(sales) AS sales, toFloat64(target) AS target,
               toFloat64(commission) AS commission
        FROM gold.seller_month ORDER BY seller_id, month""",
    # promotions running now or lately (the live figures replay a past "today" on generated data)
    "promotions": """
        SELECT promo_id, sku, ifNull(store_id, '') AS store_id, starts_on, ends_on, discount_pct
        FROM silver.promotions WHERE ends_on >= {through:Date} - INTERVAL 60 DAY""",
    # revenue per store and product in the last two months: products under-performing at a store
    "store_product_month": """
        SELECT store_id, toStartOfMonth(date) AS month, sku, toFloat64(sum(revenue)) AS revenue
        FROM gold.daily_sales WHERE date >= toStartOfMonth({through:Date}) - INTERVAL 1 MONTH
        GROUP BY store_id, month, sku""",
    "store_month": """
        SELECT store_id, period_start AS month, toFloat64(revenue) AS revenue, tickets, avg_ticket, items_per_ticket,
               growth_pct
        FROM gold.store_kpis WHERE grain = 'month' AND period_start >= toStartOfMonth({through:Date}) - INTERVAL {months:UInt32} MONTH""",
    # customer satisfaction (optional export): each store's NPS per month, beside its sales KPIs
    "store_nps_month": """
        SELECT store_id, toStartOfMonth(answered_on) AS month, count() AS answers,
               100 * (countIf(score >= 9) - countIf(score <= 6)) / count() AS nps
        FROM silver.satisfaction
        WHERE answered_on >= toStartOfMonth({through:Date}) - INTERVAL {months:UInt32} MONTH
        GROUP BY store_id, month""",
    "store_category_month": """
        SELECT d.store_id AS store_id, toStartOfMonth(d.date) AS month, ifNull(p.category, '') AS category,
               toFloat64(sum(d.revenue)) AS revenue
        FROM gold.daily_sales AS d LEFT JOIN silver.products AS p ON p.sku = d.sku
        WHERE d.date >= toStartOfMonth({through:Date}) - INTERVAL 2 MONTH
        GROUP BY store_id, month, category SETTINGS join_use_nulls = 1""",
    # what a posted line is judged against, as file ingestion judges it (warehouse/sale_rules.py)
    "prices": sale_rules.PRICES_SQL,
    "promotion_periods": sale_rules.PROMOTIONS_SQL,
}

# each SKU's last weeks at a store (the history under a forecast's fan chart, and its trends),
# published one file per store (``sku_daily/<store>.parquet``, see local_files.store_file) and read a
# store at a time: the chain's is every store × SKU × day (33.6M rows at 200 stores × 3,000 SKUs), which
# neither the pipeline's driver nor a service replica should hold to answer about one store
SKU_DAILY = "sku_daily"
SKU_DAILY_COLUMNS = ["sku", "date", "units", "on_hand"]
SKU_DAILY_SQL = f"""
    SELECT {", ".join(SKU_DAILY_COLUMNS)} FROM gold.daily_sales
    WHERE store_id = {{store:String}} AND date > {{through:Date}} - {{history_days:UInt32}} ORDER BY sku, date"""

# every line's (key, content) digests, sorted by key, fetched a range of keys at a time (the key is
# an MD5, so ranges of it split the lines evenly): one fetch of the chain's 17.2M lines held 3.1 GiB
# in the driver (the engine's buffers for the sort and the result) for 0.26 GiB of digests
KEYS_PER_FETCH = 2_000_000
KEYS_RANGE_SQL = f"{live_sales.KEYS_SQL} WHERE key BETWEEN {{low:UInt64}} AND {{high:UInt64}} ORDER BY key"


def publish(client: Client, settings: Settings, live_upto: int) -> dict:
    """Query the figures, write them aside, swap them in; returns the meta written."""
    through = client.query("SELECT max(toDate(sold_at)) FROM silver.sales").result_rows[0][0]
    if through is None or through.year < 1971:
        through = datetime.now(UTC).date()
    params = {"through": through, "days": SALES_DAYS, "months": KPI_MONTHS, "sold_days": SOLD_DAYS,
              "history_days": HISTORY_DAYS}
    target = settings.figures_dir
    staging = target.with_name(".figures-new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    counts = {}
    for name, sql in QUERIES.items():
        frame = _query(client, sql, params)
        frame.to_parquet(staging / f"{name}.parquet", index=False)
        counts[name] = len(frame)
    counts["sale_keys"] = _write_sale_keys(client, staging / "sale_keys.parquet")
    stores = [row[0] for row in client.query(
        "SELECT DISTINCT store_id FROM gold.daily_sales WHERE date > {through:Date} - {history_days:UInt32} "
        "ORDER BY store_id", parameters=params).result_rows]
    (staging / SKU_DAILY).mkdir()
    counts[SKU_DAILY] = 0
    for store in stores:
        frame = _query(client, SKU_DAILY_SQL, {**params, "store": store})
        frame.to_parquet(store_file(staging, SKU_DAILY, store), index=False)
        counts[SKU_DAILY] += len(frame)
    meta = {"data_through": str(through), "live_upto": live_upto, "rows": counts,
            "published_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (staging / "meta.json").write_text(json.dumps(meta, indent=1))
    replace_folder(staging, target)
    return meta


def _write_sale_keys(client: Client, path: Path) -> int:
    """Write every line's digests (``key``, ``content``), sorted by key, to ``path``; returns the lines."""
    lines = client.query("SELECT count() FROM silver.sales").result_rows[0][0]
    parts = max(1, -(-lines // KEYS_PER_FETCH))
    bounds = [part * 2**64 // parts for part in range(parts + 1)]
    fetched = [pa.Table.from_pandas(_query(client, KEYS_RANGE_SQL, {"low": low, "high": high - 1}).astype(np.uint64),
                                    preserve_index=False)
               for low, high in itertools.pairwise(bounds)]
    keys = pa.concat_tables(fetched)
    pq.write_table(keys, path)
    return keys.num_rows


def _query(client: Client, sql: str, params: dict) -> pd.DataFrame:
    frame = client.query_df(sql, parameters=params)
    if frame.columns.empty:  # no rows come back without their columns; readers still need the shape
        described = client.query(f"DESCRIBE ({sql})", parameters=params).result_rows
        frame = pd.DataFrame(columns=[row[0] for row in described])
    return frame


def load(settings: Settings) -> tuple[dict, dict[str, pd.DataFrame]] | None:
    """The published figures (meta, frames), or None when nothing was published yet."""
    path = settings.figures_dir
    try:
        meta = json.loads((path / "meta.json").read_text())
        frames = {name: pd.read_parquet(path / f"{name}.parquet") for name in (*QUERIES, "sale_keys")}
    except FileNotFoundError:
        return None
    meta["data_through"] = date.fromisoformat(meta["data_through"])
    return meta, frames


def load_store_days(folder: Path, store_id: str) -> pd.DataFrame:
    """One store's rows of ``SKU_DAILY_SQL`` from a published ``folder``; none (the columns kept)
    when the store sold nothing in the window or the set predates the per-store files."""
    try:
        return pd.read_parquet(store_file(folder, SKU_DAILY, store_id))
    except FileNotFoundError:
        return pd.DataFrame(columns=SKU_DAILY_COLUMNS)
