"""The data foundation, the bottom layer every other package stands on: settings, the ClickHouse
client and its versioned DDL, the canonical schema, mappings, ingestion and validation, gold, the
generator, privacy, the calendar, and the local state the processes share (live sales, published
figures, SQLite helpers). It imports no other vitrine package."""
