-- Forecasts as data: every forecaster run's P10/P50/P90 per store × SKU × day (training writes
-- them; the service reads the same rows published per store under VITRINE_HOME/serving/forecasts).
-- Kept per run, so a forecast can later be scored against what sold and a champion's rows
-- found by its MLflow run id.
CREATE TABLE IF NOT EXISTS gold.demand_forecasts (
    run_id LowCardinality(String),
    made_at DateTime DEFAULT now(),
    store_id LowCardinality(String),
    sku String,
    date Date,
    mean Float32,
    p10 Float32,
    p50 Float32,
    p90 Float32
) ENGINE = MergeTree PARTITION BY run_id ORDER BY (store_id, sku, date);
