-- Silver: typed, validated, deduplicated canonical tables.
-- <table>_all holds every batch, committed or not; the view <table> shows committed batches only
-- (latest version per key for tables that are not append-only), so a crashed ingest is never visible.

CREATE TABLE IF NOT EXISTS silver.stores_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `store_id` String,
    `name` Nullable(String),
    `city` Nullable(String),
    `state` Nullable(String),
    `region` Nullable(String),
    `opened_on` Nullable(Date)
) ENGINE = MergeTree ORDER BY (store_id);

CREATE VIEW IF NOT EXISTS silver.stores AS
SELECT `store_id`, `name`, `city`, `state`, `region`, `opened_on`, batch_id, source_file, source_line
FROM silver.stores_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files)
ORDER BY `store_id`, ingested_at DESC, source_line DESC LIMIT 1 BY `store_id`;

CREATE TABLE IF NOT EXISTS silver.sellers_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `seller_id` String,
    `store_id` String,
    `name` Nullable(String),
    `role` Nullable(String),
    `hired_on` Nullable(Date)
) ENGINE = MergeTree ORDER BY (seller_id);

CREATE VIEW IF NOT EXISTS silver.sellers AS
SELECT `seller_id`, `store_id`, `name`, `role`, `hired_on`, batch_id, source_file, source_line
FROM silver.sellers_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files)
ORDER BY `seller_id`, ingested_at DESC, source_line DESC LIMIT 1 BY `seller_id`;

CREATE TABLE IF NOT EXISTS silver.products_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `sku` String,
    `short_name` Nullable(String),
    `name` Nullable(String),
    `category` Nullable(String),
    `subcategory` Nullable(String),
    `brand` Nullable(String),
    `launched_on` Nullable(Date)
) ENGINE = MergeTree ORDER BY (sku);

CREATE VIEW IF NOT EXISTS silver.products AS
SELECT `sku`, `short_name`, `name`, `category`, `subcategory`, `brand`, `launched_on`, batch_id, source_file, source_line
FROM silver.products_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files)
ORDER BY `sku`, ingested_at DESC, source_line DESC LIMIT 1 BY `sku`;

CREATE TABLE IF NOT EXISTS silver.prices_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `sku` String,
    `price` Decimal(18, 4),
    `valid_from` Date,
    `valid_to` Nullable(Date)
) ENGINE = MergeTree ORDER BY (sku, valid_from);

CREATE VIEW IF NOT EXISTS silver.prices AS
SELECT `sku`, `price`, `valid_from`, `valid_to`, batch_id, source_file, source_line
FROM silver.prices_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files)
ORDER BY `sku`, `valid_from`, ingested_at DESC, source_line DESC LIMIT 1 BY `sku`, `valid_from`;

CREATE TABLE IF NOT EXISTS silver.costs_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `sku` String,
    `cost` Decimal(18, 4),
    `valid_from` Date,
    `valid_to` Nullable(Date)
) ENGINE = MergeTree ORDER BY (sku, valid_from);

CREATE VIEW IF NOT EXISTS silver.costs AS
SELECT `sku`, `cost`, `valid_from`, `valid_to`, batch_id, source_file, source_line
FROM silver.costs_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files)
ORDER BY `sku`, `valid_from`, ingested_at DESC, source_line DESC LIMIT 1 BY `sku`, `valid_from`;

CREATE TABLE IF NOT EXISTS silver.sales_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `ticket_id` String,
    `line` UInt32,
    `store_id` String,
    `seller_id` String,
    `customer_id` Nullable(String),
    `sku` String,
    `quantity` Int32,
    `unit_price` Decimal(18, 4),
    `discount` Nullable(Decimal(18, 4)),
    `sold_at` DateTime('UTC')
) ENGINE = MergeTree PARTITION BY toYYYYMM(`sold_at`) ORDER BY (store_id, sku, sold_at);

CREATE VIEW IF NOT EXISTS silver.sales AS
SELECT `ticket_id`, `line`, `store_id`, `seller_id`, `customer_id`, `sku`, `quantity`, `unit_price`, `discount`, `sold_at`, batch_id, source_file, source_line
FROM silver.sales_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files);

CREATE TABLE IF NOT EXISTS silver.targets_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `seller_id` String,
    `month` Date,
    `target_amount` Decimal(18, 4)
) ENGINE = MergeTree ORDER BY (seller_id, month);

CREATE VIEW IF NOT EXISTS silver.targets AS
SELECT `seller_id`, `month`, `target_amount`, batch_id, source_file, source_line
FROM silver.targets_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files)
ORDER BY `seller_id`, `month`, ingested_at DESC, source_line DESC LIMIT 1 BY `seller_id`, `month`;

CREATE TABLE IF NOT EXISTS silver.stock_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `store_id` String,
    `sku` String,
    `date` Date,
    `on_hand` Int32
) ENGINE = MergeTree PARTITION BY toYYYYMM(`date`) ORDER BY (store_id, sku, date);

CREATE VIEW IF NOT EXISTS silver.stock AS
SELECT `store_id`, `sku`, `date`, `on_hand`, batch_id, source_file, source_line
FROM silver.stock_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files)
ORDER BY `store_id`, `sku`, `date`, ingested_at DESC, source_line DESC LIMIT 1 BY `store_id`, `sku`, `date`;

CREATE TABLE IF NOT EXISTS silver.promotions_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `promo_id` String,
    `sku` String,
    `store_id` Nullable(String),
    `starts_on` Date,
    `ends_on` Date,
    `discount_pct` Float64
) ENGINE = MergeTree ORDER BY (promo_id, sku);

CREATE VIEW IF NOT EXISTS silver.promotions AS
SELECT `promo_id`, `sku`, `store_id`, `starts_on`, `ends_on`, `discount_pct`, batch_id, source_file, source_line
FROM silver.promotions_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files)
ORDER BY `promo_id`, `sku`, ingested_at DESC, source_line DESC LIMIT 1 BY `promo_id`, `sku`;

CREATE TABLE IF NOT EXISTS silver.commission_rules_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `rule_id` String,
    `kind` String,
    `category` Nullable(String),
    `min_attainment_pct` Nullable(Float64),
    `rate` Float64
) ENGINE = MergeTree ORDER BY (rule_id);

CREATE VIEW IF NOT EXISTS silver.commission_rules AS
SELECT `rule_id`, `kind`, `category`, `min_attainment_pct`, `rate`, batch_id, source_file, source_line
FROM silver.commission_rules_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files)
ORDER BY `rule_id`, ingested_at DESC, source_line DESC LIMIT 1 BY `rule_id`;

CREATE TABLE IF NOT EXISTS silver.schedules_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `store_id` String,
    `seller_id` String,
    `shift_start` DateTime('UTC'),
    `shift_end` DateTime('UTC')
) ENGINE = MergeTree ORDER BY (store_id, shift_start);

CREATE VIEW IF NOT EXISTS silver.schedules AS
SELECT `store_id`, `seller_id`, `shift_start`, `shift_end`, batch_id, source_file, source_line
FROM silver.schedules_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files)
ORDER BY `seller_id`, `shift_start`, ingested_at DESC, source_line DESC LIMIT 1 BY `seller_id`, `shift_start`;
