"""Gold refresh: recompute only the months a batch touched and swap them in atomically.

Each month-partitioned gold table is filled for the affected months in a staging copy, then every
month is moved in with ``ALTER TABLE … REPLACE PARTITION`` (readers see the old month or the new
one, never a half). ``product_margin_month`` is small and depends on whole validity ranges, so a
price or cost batch rebuilds it whole the same way. ``basket_pairs`` and ``store_kpis`` are views
over the refreshed tables and are always current.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

ALL = -1  # "every month present in the data"

# Which gold tables each silver table feeds (a batch of that table refreshes them).
FEEDS: dict[str, tuple[str, ...]] = {
    "sales": ("daily_sales", "hourly_traffic", "seller_month", "basket_month", "basket_item_month", "basket_pair_month"),
    "stock": ("daily_sales",),
    "promotions": ("daily_sales",),
    "schedules": ("hourly_traffic",),
    "targets": ("seller_month",),
    "commission_rules": ("seller_month",),
    "products": ("seller_month",),
    "sellers": ("seller_month",),
    "prices": ("product_margin_month",),
    "costs": ("product_margin_month",),
}
# Tables whose rows carry no month of their own, or whose effect runs past their month:
# their batches refresh every month (stock is carried forward; rules and dimensions apply to all).
WHOLE_HISTORY = {"stock", "promotions", "commission_rules", "products", "sellers", "prices", "costs"}

NET = "(quantity * unit_price - discount)"
# Baskets with more distinct SKUs than this are bulk or wholesale orders, not a shopper's basket:
# they are left out of basket counts (they would add n^2/2 pairs each and drown the real pairs).
MAX_BASKET_SKUS = 50
# daily_sales is computed this many months per query: its joins hold those months' sales and
# stock, so this bounds the warehouse's memory (every month at once held 5 GiB at 600,000 series).
# Each day's row depends on its own month only, so the chunks add up to the whole.
MONTHS_PER_INSERT = 3
FIRST_SEEN_STAGE = "gold._stage_first_seen"
# Each (store, SKU)'s first day with a sale or a stock snapshot: where its daily_sales rows start.
# Computed once per refresh into FIRST_SEEN_STAGE, not once per chunk of months.
FIRST_SEEN = """
    SELECT store_id, sku, min(day) AS first_day FROM (
        SELECT store_id, sku, toDate(min(sold_at)) AS day FROM silver.sales GROUP BY store_id, sku
        UNION ALL
        SELECT store_id, sku, min(date) FROM silver.stock GROUP BY store_id, sku
    ) GROUP BY store_id, sku
"""


def _month_filter(column: str) -> str:
    return f"toYYYYMM({column}) IN {{months:Array(UInt32)}}"


def _daily_sales(months: str) -> str:
    return f"""
    WITH
        -- the last day with sales; before any sales is loaded, the last stock snapshot's
        ifNull((SELECT max(toDate(sold_at)) FROM silver.sales HAVING count() > 0),
               (SELECT max(date) FROM silver.stock)) AS last_day,
        (SELECT makeDate(intDiv(m, 100), m % 100, 1) FROM (SELECT arrayMin({{months:Array(UInt32)}}) AS m)) AS first_month,
        sales_day AS (
            SELECT store_id, sku, toDate(sold_at) AS date, sum(quantity) AS units, sum({NET}) AS revenue
            FROM silver.sales WHERE {_month_filter('sold_at')} GROUP BY store_id, sku, date
        ),
        first_seen AS (SELECT store_id, sku, first_day FROM {FIRST_SEEN_STAGE}),
        spans AS (
            SELECT store_id, sku, greatest(first_day, month) AS start, least(toLastDayOfMonth(month), last_day) AS stop
            FROM first_seen
            CROSS JOIN (SELECT makeDate(intDiv(m, 100), m % 100, 1) AS month
                        FROM (SELECT arrayJoin({{months:Array(UInt32)}}) AS m)) AS months
            WHERE greatest(first_day, month) <= least(toLastDayOfMonth(month), last_day)
        ),
        grid AS (
            SELECT store_id, sku, arrayJoin(arrayMap(i -> start + i, range(toUInt32(dateDiff('day', start, stop) + 1)))) AS date
            FROM spans
        ),
        promo_days AS (
            SELECT sku, ifNull(store_id, '') AS store_id,
                   arrayJoin(arrayMap(i -> starts_on + i, range(toUInt32(dateDiff('day', starts_on, ends_on) + 1)))) AS date
            FROM silver.promotions WHERE ends_on >= starts_on
        )
    SELECT g.date, g.store_id, g.sku,
           ifNull(s.units, 0) AS units, ifNull(s.revenue, 0) AS revenue,
           if(s.units > 0, toFloat64(s.revenue) / s.units, NULL) AS avg_price,
           ((g.sku, g.store_id, g.date) IN (SELECT sku, store_id, date FROM promo_days)
             OR (g.sku, '', g.date) IN (SELECT sku, store_id, date FROM promo_days)) AS on_promo,
           st.on_hand AS on_hand
    FROM grid AS g
    LEFT JOIN sales_day AS s ON s.store_id = g.store_id AND s.sku = g.sku AND s.date = g.date
    ASOF LEFT JOIN (  -- the snapshots from the first month on, and each series' last one before it
        SELECT store_id, sku, date, on_hand FROM silver.stock WHERE date >= first_month
        UNION ALL
        SELECT store_id, sku, max(date), argMax(on_hand, date) FROM silver.stock WHERE date < first_month
        GROUP BY store_id, sku
    ) AS st
        ON st.store_id = g.store_id AND st.sku = g.sku AND g.date >= st.date
    SETTINGS join_use_nulls = 1
    """


def _hourly_traffic(months: str) -> str:
    return f"""
    WITH
        duty AS (
            SELECT store_id, toDate(shift_start) AS date, hour, count(DISTINCT seller_id) AS sellers
            FROM silver.schedules
            ARRAY JOIN range(toHour(shift_start), toHour(shift_end - 1) + 1) AS hour
            WHERE {_month_filter('shift_start')}
            GROUP BY store_id, date, hour
        ),
        scheduled_days AS (SELECT DISTINCT store_id, date FROM duty)
    SELECT t.date, t.hour, t.store_id, t.tickets, t.items, t.revenue,
           if((t.store_id, t.date) IN (SELECT store_id, date FROM scheduled_days), ifNull(d.sellers, 0), NULL)
               AS sellers_on_duty
    FROM (
        SELECT toDate(sold_at) AS date, toHour(sold_at) AS hour, store_id,
               uniqExactIf(ticket_id, quantity > 0) AS tickets, sumIf(quantity, quantity > 0) AS items,
               sum({NET}) AS revenue
        FROM silver.sales WHERE {_month_filter('sold_at')} GROUP BY date, hour, store_id
    ) AS t
    LEFT JOIN duty AS d ON d.store_id = t.store_id AND d.date = t.date AND d.hour = t.hour
    SETTINGS join_use_nulls = 1
    """


def _seller_month(months: str) -> str:
    return f"""
    WITH
        (SELECT arrayConcat([(0., 0.)], groupArray((ifNull(min_attainment_pct, 0.), rate)))
           FROM silver.commission_rules WHERE kind = 'tier') AS tiers,
        (SELECT ifNull(anyIf(rate, category IS NULL), 0.) FROM silver.commission_rules WHERE kind = 'category')
            AS default_rate,
        by_category AS (
            SELECT s.seller_id AS seller_id, toStartOfMonth(s.sold_at) AS month, p.category AS category,
                   sum({NET}) AS revenue
            FROM silver.sales AS s LEFT JOIN silver.products AS p ON p.sku = s.sku
            WHERE {_month_filter('s.sold_at')}
            GROUP BY seller_id, month, category
        ),
        with_rate AS (
            SELECT b.seller_id, b.month, b.revenue,
                   b.revenue * toDecimal64(if(r.rate IS NULL, default_rate, r.rate), 6) AS category_commission
            FROM by_category AS b
            LEFT JOIN (SELECT category, rate FROM silver.commission_rules WHERE kind = 'category' AND category IS NOT NULL) AS r
                ON r.category = b.category
            SETTINGS join_use_nulls = 1
        ),
        totals AS (
            SELECT seller_id, month, sum(revenue) AS sales, sum(category_commission) AS base_commission
            FROM with_rate GROUP BY seller_id, month
        )
    SELECT t.month, t.seller_id, se.store_id, t.sales, tg.target_amount AS target,
           if(tg.target_amount > 0, toFloat64(t.sales) / toFloat64(tg.target_amount) * 100, NULL) AS attainment_pct,
           t.base_commission + t.sales * toDecimal64(
               arrayMax(arrayMap(x -> if(ifNull(attainment_pct, 0) >= x.1, x.2, 0.), tiers)), 6) AS commission
    FROM totals AS t
    LEFT JOIN silver.sellers AS se ON se.seller_id = t.seller_id
    LEFT JOIN silver.targets AS tg ON tg.seller_id = t.seller_id AND tg.month = t.month
    SETTINGS join_use_nulls = 1
    """


def _basket_month(months: str) -> str:
    return f"SELECT month, count() AS baskets FROM ({_baskets(months)}) GROUP BY month"


def _baskets(months: str) -> str:
    """One row per basket: its month and its distinct SKUs (sorted)."""
    return (f"SELECT toStartOfMonth(min(sold_at)) AS month, groupUniqArray(sku) AS skus "
            f"FROM silver.sales WHERE quantity > 0 AND {_month_filter('sold_at')} GROUP BY ticket_id "
            f"HAVING length(skus) <= {MAX_BASKET_SKUS}")


def _basket_item_month(months: str) -> str:
    return f"SELECT month, sku, count() AS baskets FROM ({_baskets(months)}) ARRAY JOIN skus AS sku GROUP BY month, sku"


def _basket_pair_month(months: str) -> str:
    return f"""
    SELECT month, sku_a, sku_b, count() AS baskets
    FROM ({_baskets(months)}) ARRAY JOIN skus AS sku_a ARRAY JOIN skus AS sku_b
    WHERE sku_a < sku_b
    GROUP BY month, sku_a, sku_b
    """


def _product_margin_month(_: str) -> str:
    return """
    WITH
        (SELECT greatest(ifNull(max(toDate(sold_at)), today()), today()) FROM silver.sales) AS horizon,
        price_days AS (
            SELECT sku, d AS date, argMax(price, valid_from) AS price FROM silver.prices
            ARRAY JOIN arrayMap(i -> valid_from + i,
                range(toUInt32(greatest(dateDiff('day', valid_from, least(ifNull(valid_to, horizon), horizon)) + 1, 0)))) AS d
            GROUP BY sku, date
        ),
        cost_days AS (
            SELECT sku, d AS date, argMax(cost, valid_from) AS cost FROM silver.costs
            ARRAY JOIN arrayMap(i -> valid_from + i,
                range(toUInt32(greatest(dateDiff('day', valid_from, least(ifNull(valid_to, horizon), horizon)) + 1, 0)))) AS d
            GROUP BY sku, date
        )
    SELECT toStartOfMonth(p.date) AS month, p.sku,
           avg(toFloat64(p.price)) AS avg_price, avg(toFloat64(c.cost)) AS avg_cost,
           avg((toFloat64(p.price) - toFloat64(c.cost)) / toFloat64(p.price) * 100) AS margin_pct,
           count() AS days_priced
    FROM price_days AS p INNER JOIN cost_days AS c ON c.sku = p.sku AND c.date = p.date
    GROUP BY month, p.sku
    """


BUILDERS = {
    "daily_sales": _daily_sales,
    "hourly_traffic": _hourly_traffic,
    "seller_month": _seller_month,
    "basket_month": _basket_month,
    "basket_item_month": _basket_item_month,
    "basket_pair_month": _basket_pair_month,
    "product_margin_month": _product_margin_month,
}


def affected(batch_months: dict[str, set[int]]) -> dict[str, set[int]]:
    """Gold table -> months to recompute, from silver table -> months a batch touched."""
    out: dict[str, set[int]] = {}
    for table, months in batch_months.items():
        for gold in FEEDS.get(table, ()):
            wanted = {ALL} if table in WHOLE_HISTORY or not months else set(months)
            out.setdefault(gold, set()).update(wanted)
    return out


def _all_months(client: Client) -> list[int]:
    rows = client.query(
        "SELECT DISTINCT m FROM (SELECT toYYYYMM(sold_at) AS m FROM silver.sales "
        "UNION ALL SELECT toYYYYMM(date) FROM silver.stock "
        "UNION ALL SELECT toYYYYMM(shift_start) FROM silver.schedules "
        "UNION ALL SELECT toYYYYMM(month) FROM silver.targets) ORDER BY m").result_rows
    return [r[0] for r in rows]


def refresh(client: Client, todo: dict[str, set[int]]) -> dict[str, int]:
    """Recompute the given months of each gold table; returns the number of months swapped per table."""
    done: dict[str, int] = {}
    every = None
    for gold, months in todo.items():
        if gold == "product_margin_month":
            _swap_whole(client, gold, BUILDERS[gold](""))
            done[gold] = 1
            continue
        if gold == "daily_sales" and ALL not in months:
            # a series runs from its first sale on through every later month: a pair first seen in a
            # late batch for an old month needs its rows in the months after it too
            every = every if every is not None else _all_months(client)
            months = set(months) | {m for m in every if m > min(months)}
        if ALL in months:
            every = every if every is not None else _all_months(client)
            existing = [r[0] for r in client.query(
                f"SELECT DISTINCT toYYYYMM(month_key) FROM (SELECT {_partition_column(gold)} AS month_key FROM gold.{gold})"
            ).result_rows]
            months = set(every) | set(existing)
        months = sorted(m for m in months if m != ALL)
        if not months:
            continue
        stage = f"gold._stage_{gold}"
        client.command(f"DROP TABLE IF EXISTS {stage}")
        client.command(f"CREATE TABLE {stage} AS gold.{gold}")
        try:
            if gold == "daily_sales":
                _insert_daily_sales(client, stage, months)
            else:
                client.command(f"INSERT INTO {stage} {BUILDERS[gold]('')}", parameters={"months": months})
            for month in months:
                client.command(f"ALTER TABLE gold.{gold} REPLACE PARTITION ID '{month}' FROM {stage} "
                               "SETTINGS allow_replace_partition_from_empty_source = 1")
        finally:
            client.command(f"DROP TABLE IF EXISTS {stage}")
        done[gold] = len(months)
    return done


def _insert_daily_sales(client: Client, stage: str, months: list[int]) -> None:
    """daily_sales of ``months`` into ``stage``, ``MONTHS_PER_INSERT`` months per query, from
    each series' first day computed once."""
    client.command(f"DROP TABLE IF EXISTS {FIRST_SEEN_STAGE}")
    client.command(f"CREATE TABLE {FIRST_SEEN_STAGE} ENGINE = MergeTree ORDER BY (store_id, sku) AS {FIRST_SEEN}")
    try:
        for chunk in range(0, len(months), MONTHS_PER_INSERT):
            client.command(f"INSERT INTO {stage} {_daily_sales('')}",
                           parameters={"months": months[chunk:chunk + MONTHS_PER_INSERT]})
    finally:
        client.command(f"DROP TABLE IF EXISTS {FIRST_SEEN_STAGE}")


def _partition_column(gold: str) -> str:
    return {"daily_sales": "date", "hourly_traffic": "date"}.get(gold, "month")


def _swap_whole(client: Client, gold: str, select: str) -> None:
    stage = f"gold._stage_{gold}"
    client.command(f"DROP TABLE IF EXISTS {stage}")
    client.command(f"CREATE TABLE {stage} AS gold.{gold}")
    try:
        client.command(f"INSERT INTO {stage} {select}")
        client.command(f"ALTER TABLE gold.{gold} REPLACE PARTITION tuple() FROM {stage} "
                       "SETTINGS allow_replace_partition_from_empty_source = 1")
    finally:
        client.command(f"DROP TABLE IF EXISTS {stage}")


def pending_batches(client: Client) -> dict[str, dict[str, set[int]]]:
    """Committed batches whose gold refresh never ran (a crash after commit): batch -> table -> months."""
    rows = client.query(
        "SELECT batch_id, tables FROM meta.ingest_files WHERE batch_id NOT IN (SELECT batch_id FROM meta.gold_refreshes)"
    ).result_rows
    return {batch: {t: set() for t in tables} for batch, tables in rows}


def mark_refreshed(client: Client, batches: dict[str, set[int]]) -> None:
    if batches:
        client.insert("meta.gold_refreshes", [[b, sorted(m for m in months if m != ALL)] for b, months in batches.items()],
                      column_names=["batch_id", "months"])
