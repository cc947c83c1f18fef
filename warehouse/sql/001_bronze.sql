-- Bronze: rows as received (mapped to canonical names, untyped), with their source file, line and content hash.
CREATE DATABASE IF NOT EXISTS bronze;
CREATE DATABASE IF NOT EXISTS silver;
CREATE DATABASE IF NOT EXISTS gold;

CREATE TABLE IF NOT EXISTS bronze.stores (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `store_id` Nullable(String),
    `name` Nullable(String),
    `city` Nullable(String),
    `state` Nullable(String),
    `region` Nullable(String),
    `opened_on` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS bronze.sellers (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `seller_id` Nullable(String),
    `store_id` Nullable(String),
    `name` Nullable(String),
    `role` Nullable(String),
    `hired_on` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS bronze.products (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `sku` Nullable(String),
    `short_name` Nullable(String),
    `name` Nullable(String),
    `category` Nullable(String),
    `subcategory` Nullable(String),
    `brand` Nullable(String),
    `launched_on` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS bronze.prices (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `sku` Nullable(String),
    `price` Nullable(String),
    `valid_from` Nullable(String),
    `valid_to` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS bronze.costs (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `sku` Nullable(String),
    `cost` Nullable(String),
    `valid_from` Nullable(String),
    `valid_to` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS bronze.sales (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `ticket_id` Nullable(String),
    `line` Nullable(String),
    `store_id` Nullable(String),
    `seller_id` Nullable(String),
    `customer_id` Nullable(String),
    `sku` Nullable(String),
    `quantity` Nullable(String),
    `unit_price` Nullable(String),
    `discount` Nullable(String),
    `sold_at` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS bronze.targets (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `seller_id` Nullable(String),
    `month` Nullable(String),
    `target_amount` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS bronze.stock (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `store_id` Nullable(String),
    `sku` Nullable(String),
    `date` Nullable(String),
    `on_hand` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS bronze.promotions (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `promo_id` Nullable(String),
    `sku` Nullable(String),
    `store_id` Nullable(String),
    `starts_on` Nullable(String),
    `ends_on` Nullable(String),
    `discount_pct` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS bronze.commission_rules (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `rule_id` Nullable(String),
    `kind` Nullable(String),
    `category` Nullable(String),
    `min_attainment_pct` Nullable(String),
    `rate` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS bronze.schedules (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `store_id` Nullable(String),
    `seller_id` Nullable(String),
    `shift_start` Nullable(String),
    `shift_end` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);
