-- Gold: the tables managers, sellers and models read. Month-partitioned tables are refreshed by
-- recomputing only the months a new batch touched and swapping them in (REPLACE PARTITION).

-- Store x SKU x day. Every day from the pair's first sale or stock snapshot to the last day of sales
-- data, zero-sale days explicit (a series is dense from its start, and no row exists because of a
-- later sale); on_hand is the latest end-of-day snapshot at or before the day (null = unknown).
CREATE TABLE IF NOT EXISTS gold.daily_sales (
    date Date,
    store_id String,
    sku String,
    units Int64,
    revenue Decimal(38, 4),
    avg_price Nullable(Float64),
    on_promo UInt8,
    on_hand Nullable(Int32)
) ENGINE = MergeTree PARTITION BY toYYYYMM(date) ORDER BY (store_id, sku, date);

-- Store x day x hour: tickets with at least one item bought, items bought, net revenue, and
-- sellers scheduled (null when the store has no schedule that day).
CREATE TABLE IF NOT EXISTS gold.hourly_traffic (
    date Date,
    hour UInt8,
    store_id String,
    tickets UInt64,
    items Int64,
    revenue Decimal(38, 4),
    sellers_on_duty Nullable(UInt32)
) ENGINE = MergeTree PARTITION BY toYYYYMM(date) ORDER BY (store_id, date, hour);

-- Seller x month: net sales, target, attainment and commission by the commission rules.
CREATE TABLE IF NOT EXISTS gold.seller_month (
    month Date,
    seller_id String,
    store_id String,
    sales Decimal(38, 4),
    target Nullable(Decimal(38, 4)),
    attainment_pct Nullable(Float64),
    commission Decimal(38, 4)
) ENGINE = MergeTree PARTITION BY toYYYYMM(month) ORDER BY (store_id, seller_id, month);

-- SKU x month: day-weighted average price, cost and margin % over the days on which both a price
-- and a cost were valid (validity ranges honoured; valid_to null = still valid).
CREATE TABLE IF NOT EXISTS gold.product_margin_month (
    month Date,
    sku String,
    avg_price Float64,
    avg_cost Float64,
    margin_pct Float64,
    days_priced UInt32
) ENGINE = MergeTree ORDER BY (sku, month);

-- Basket counts per month (a basket = a ticket with at least one item bought; SKUs counted once).
CREATE TABLE IF NOT EXISTS gold.basket_month (
    month Date,
    baskets UInt64
) ENGINE = MergeTree PARTITION BY toYYYYMM(month) ORDER BY month;

CREATE TABLE IF NOT EXISTS gold.basket_item_month (
    month Date,
    sku String,
    baskets UInt64
) ENGINE = MergeTree PARTITION BY toYYYYMM(month) ORDER BY sku;

CREATE TABLE IF NOT EXISTS gold.basket_pair_month (
    month Date,
    sku_a String,
    sku_b String,
    baskets UInt64
) ENGINE = MergeTree PARTITION BY toYYYYMM(month) ORDER BY (sku_a, sku_b);

-- Unordered pairs (sku_a < sku_b) over all months: support, confidence both ways and lift.
CREATE VIEW IF NOT EXISTS gold.basket_pairs AS
WITH
    (SELECT sum(baskets) FROM gold.basket_month) AS total,
    items AS (SELECT sku, sum(baskets) AS n FROM gold.basket_item_month GROUP BY sku),
    pairs AS (SELECT sku_a, sku_b, sum(baskets) AS together FROM gold.basket_pair_month GROUP BY sku_a, sku_b)
SELECT
    p.sku_a AS sku_a,
    p.sku_b AS sku_b,
    p.together AS baskets_together,
    p.together / total AS support,
    p.together / a.n AS confidence_a_to_b,
    p.together / b.n AS confidence_b_to_a,
    p.together * total / (a.n * b.n) AS lift
FROM pairs AS p
INNER JOIN items AS a ON a.sku = p.sku_a
INNER JOIN items AS b ON b.sku = p.sku_b;

-- Store x day/week/month KPIs with growth against the same period last year
-- (day: same weekday 364 days before; week: 52 weeks before; month: 12 months before).
CREATE VIEW IF NOT EXISTS gold.store_kpis AS
WITH
    daily AS (
        SELECT store_id, date, sum(tickets) AS tickets, sum(items) AS items, sum(revenue) AS revenue
        FROM gold.hourly_traffic GROUP BY store_id, date
    ),
    periods AS (
        SELECT 'day' AS grain, store_id, date AS period_start, date - 364 AS last_year_start,
               tickets, items, revenue FROM daily
        UNION ALL
        SELECT 'week', store_id, toMonday(date), toMonday(date) - 364,
               sum(tickets), sum(items), sum(revenue) FROM daily GROUP BY store_id, toMonday(date)
        UNION ALL
        SELECT 'month', store_id, toStartOfMonth(date), toStartOfMonth(date) - INTERVAL 12 MONTH,
               sum(tickets), sum(items), sum(revenue) FROM daily GROUP BY store_id, toStartOfMonth(date)
    )
SELECT
    cur.grain AS grain,
    cur.store_id AS store_id,
    cur.period_start AS period_start,
    cur.revenue AS revenue,
    cur.tickets AS tickets,
    if(cur.tickets > 0, toFloat64(cur.revenue) / cur.tickets, NULL) AS avg_ticket,
    if(cur.tickets > 0, cur.items / cur.tickets, NULL) AS items_per_ticket,
    ly.revenue AS revenue_last_year,
    if(ly.revenue > 0, (toFloat64(cur.revenue) / toFloat64(ly.revenue) - 1) * 100, NULL) AS growth_pct
FROM periods AS cur
LEFT JOIN periods AS ly
    ON ly.grain = cur.grain AND ly.store_id = cur.store_id AND ly.period_start = cur.last_year_start
SETTINGS join_use_nulls = 1;
