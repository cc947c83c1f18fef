-- Customer satisfaction (optional export): one row per survey answer, NPS style (0-10: 9-10
-- promoters, 0-6 detractors). Facts, like sales: a repeated response_id is a duplicate.
CREATE TABLE IF NOT EXISTS bronze.satisfaction (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime DEFAULT now(),
    `response_id` Nullable(String),
    `store_id` Nullable(String),
    `answered_on` Nullable(String),
    `score` Nullable(String)
) ENGINE = MergeTree PARTITION BY toYYYYMM(ingested_at) ORDER BY (batch_id, source_line);

CREATE TABLE IF NOT EXISTS silver.satisfaction_all (
    batch_id String,
    source_file String,
    source_line UInt64,
    row_hash UInt64,
    ingested_at DateTime64(3),
    `response_id` String,
    `store_id` String,
    `answered_on` Date,
    `score` Int32
) ENGINE = MergeTree PARTITION BY toYYYYMM(`answered_on`) ORDER BY (store_id, answered_on);

CREATE VIEW IF NOT EXISTS silver.satisfaction AS
SELECT `response_id`, `store_id`, `answered_on`, `score`, batch_id, source_file, source_line
FROM silver.satisfaction_all WHERE batch_id IN (SELECT batch_id FROM meta.ingest_files);
