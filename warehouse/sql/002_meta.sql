-- Ingestion bookkeeping. A row in ingest_files is the commit of a batch: silver views show only
-- batches listed here, so a file becomes visible all at once or not at all.
CREATE TABLE IF NOT EXISTS meta.ingest_files (
    batch_id String,
    file_name String,
    file_path String,
    sha256 String,
    mapping String,
    tables Array(String),
    rows_read UInt64,
    rows_accepted UInt64,
    rows_quarantined UInt64,
    committed_at DateTime64(3) DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY (sha256, batch_id);

-- Every rejected row: where it came from, which column, which value and why.
CREATE TABLE IF NOT EXISTS meta.quarantine (
    batch_id String,
    table_name LowCardinality(String),
    source_file String,
    source_line UInt64,
    column_name LowCardinality(String),
    value String,
    reason LowCardinality(String),
    raw_row String,
    quarantined_at DateTime DEFAULT now()
) ENGINE = MergeTree ORDER BY (table_name, source_file, source_line);

-- Batches whose gold partitions are refreshed (a committed batch missing here is refreshed next run).
CREATE TABLE IF NOT EXISTS meta.gold_refreshes (
    batch_id String,
    months Array(UInt32),
    refreshed_at DateTime64(3) DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY batch_id;
