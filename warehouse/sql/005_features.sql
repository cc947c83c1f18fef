-- Feature runs: a row is the commit of one feature table written as Parquet under
-- VITRINE_HOME/features/<feature_set>/<run_id>/ (the folder is complete before the row exists).
-- Training records the run_id it read; serving reads the latest run of each set.
CREATE TABLE IF NOT EXISTS meta.feature_runs (
    run_id String,
    feature_set LowCardinality(String),
    as_of Date,
    path String,
    rows UInt64,
    columns Array(String),
    seconds Float64,
    spark_master String,
    created_at DateTime64(3) DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY (feature_set, created_at);
