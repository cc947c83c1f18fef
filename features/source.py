"""ClickHouse to Spark in parallel, without a JVM connector (none can be installed here).

Two roads, one entry point (:func:`read`), chosen by the warehouse URL:

* **Embedded chDB** admits one process per data directory, and Spark's Python workers are other
  processes, so they cannot open it. The driver (which owns the warehouse) asks ClickHouse to write
  the query's result as Parquet, one file per slice (``INSERT INTO FUNCTION file(…) PARTITION BY``),
  and Spark reads the files in parallel. ClickHouse writes Parquet at several million rows/s, so the
  hand-off costs little next to the feature work.
* **A ClickHouse server** is read directly by Spark's workers through the ``clickhouse`` Python Data
  Source below: one Spark partition per slice (``cityHash64(<slice columns>) % n = i`` in the
  query's WHERE, so the server reads only the slice), each worker
  streaming Arrow batches over clickhouse-connect.

Tasks that work on whole slices (the demand sets, features/demand.py) skip Spark's reader: they
get the slices from :func:`slice_parts` (the hand-off files, or the per-slice SELECTs) and read one
each with :func:`read_slice`.

Either way the projection and the predicate of the :class:`TableQuery` run inside ClickHouse, so
Spark never pulls a column or a row it did not ask for. The source does not take Spark's own
filters (``DataSourceReader.pushFilters``): with PySpark 4.3, two scans of one read with different
filters (promotions at a store / chain-wide) were both given the first scan's filters, silently
dropping rows. State what to read in the TableQuery instead.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import StructType

from warehouse.clickhouse import connect
from warehouse.settings import Settings

HANDOFF_BUFFER_ROWS = 4_000_000  # rows the embedded ClickHouse buffers for a hand-off's open files, all slices together


@dataclass(frozen=True)
class TableQuery:
    """What Spark needs from one table: columns (ClickHouse expressions allowed) and a predicate.

    ``slice_by`` is the column whose hash splits the rows into parallel slices; keep rows that
    Spark later groups together (a store × SKU series) in one slice by naming its key.
    """

    table: str
    columns: tuple[str, ...]
    where: str = "1"
    slice_by: str = ""
    order_by: str = ""  # e.g. "store_id, sku, date WITH FILL": ClickHouse fills each series' gaps

    def sql(self, slice_condition: str = "1") -> str:
        order = f" ORDER BY {self.order_by}" if self.order_by else ""
        return f"SELECT {', '.join(self.columns)} FROM {self.table} WHERE ({self.where}) AND {slice_condition}{order}"


# ClickHouse type -> Spark SQL type, for the columns our feature queries select.
_SPARK_TYPES = {
    "String": "string", "Date": "date", "Date32": "date", "Float64": "double", "Float32": "float",
    "Int8": "tinyint", "Int16": "smallint", "Int32": "int", "Int64": "bigint", "UInt8": "smallint",
    "UInt16": "int", "UInt32": "bigint", "Bool": "boolean",
}


def spark_schema(settings: Settings, query: TableQuery) -> str:
    """The Spark DDL schema of ``query``'s result, from ClickHouse's own description of it."""
    rows = connect(settings).query(f"DESCRIBE ({query.sql()})").result_rows
    fields = []
    for name, ch_type, *_ in rows:
        inner = ch_type.removeprefix("Nullable(").removesuffix(")") if ch_type.startswith("Nullable(") else ch_type
        if inner.startswith("DateTime"):
            spark_type = "timestamp"
        elif inner not in _SPARK_TYPES:
            raise TypeError(f"column {name} of {query.table} is {ch_type}; cast it in the query to one of "
                            f"{', '.join(sorted(_SPARK_TYPES))}")
        else:
            spark_type = _SPARK_TYPES[inner]
        fields.append(f"`{name}` {spark_type}")
    return ", ".join(fields)


def read(spark: SparkSession, settings: Settings, query: TableQuery, handoff: Path) -> DataFrame:
    """``query``'s result as a Spark DataFrame, read in parallel slices.

    ``handoff`` is a scratch folder for the embedded road's Parquet files; the caller removes it
    once the DataFrames built on it are written (Spark reads lazily).
    """
    schema = spark_schema(settings, query)
    slices = max(1, settings.clickhouse_read_slices)
    if settings.is_embedded:
        return _read_handoff(spark, settings, query, schema, slices, handoff)
    register(spark)
    return (
        spark.read.format("clickhouse")
        .schema(schema)
        .option("url", settings.warehouse_url)
        .option("queries", json.dumps([query.sql(condition) for condition in _slices(query, slices)]))
        .load()
    )


def _read_handoff(spark: SparkSession, settings: Settings, query: TableQuery, schema: str, slices: int,
                  handoff: Path) -> DataFrame:
    files = _handoff_files(settings, query, slices, handoff)
    if not files:
        return spark.createDataFrame([], schema)
    return spark.read.schema(schema).parquet(str(files[0].parent))


def _handoff_files(settings: Settings, query: TableQuery, slices: int, handoff: Path) -> list[Path]:
    """ClickHouse writes ``query``'s result as one Parquet file per non-empty slice.

    Every slice's file is open at once and buffers a row group in this process (the embedded
    chDB), so the row groups shrink as the slices grow: HANDOFF_BUFFER_ROWS in all. At the large
    scale's 52 demand slices, ClickHouse's default of 1M rows a group took the process to 4.65 GiB;
    100k rows a group, 2.07 GiB, in the same 40 s (the 4M budget gives those slices 77k)."""
    folder = handoff / f"{query.table.replace('.', '_')}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    partition = _slice_hash(query, slices) if query.slice_by else "0"
    row_group = max(HANDOFF_BUFFER_ROWS // slices, 1)
    connect(settings).command(
        f"INSERT INTO FUNCTION file('{folder}/part-{{_partition_id}}.parquet', 'Parquet') "
        f"PARTITION BY {partition} {query.sql()} SETTINGS output_format_parquet_row_group_size = {row_group}"
    )
    return sorted(folder.iterdir())


def slice_parts(settings: Settings, query: TableQuery, slices: int, handoff: Path) -> list[str]:
    """``query``'s slices for tasks that read one each with :func:`read_slice`: the hand-off
    files (embedded chDB), or one SELECT per slice (a ClickHouse server, read by the task)."""
    if settings.is_embedded:
        return [str(path) for path in _handoff_files(settings, query, slices, handoff)]
    return [query.sql(condition) for condition in _slices(query, slices)]


def read_slice(part: str, url: str | None) -> pa.Table:
    """One slice of :func:`slice_parts`: a hand-off file (``url`` None) or a SELECT on the server at ``url``."""
    if url is None:
        return pq.read_table(part)
    import clickhouse_connect

    client = clickhouse_connect.get_client(dsn=url)
    try:
        return client.query_arrow(part)
    finally:
        client.close()


def _slice_hash(query: TableQuery, slices: int) -> str:
    return f"cityHash64({query.slice_by}) % {slices}"


def _slices(query: TableQuery, slices: int) -> list[str]:
    """One condition per slice (rows of one ``slice_by`` value always land in the same slice)."""
    if not query.slice_by or slices == 1:
        return ["1"]
    return [f"{_slice_hash(query, slices)} = {i}" for i in range(slices)]


def remove_handoff(handoff: Path) -> None:
    """Delete the hand-off files once nothing reads them any more."""
    shutil.rmtree(handoff, ignore_errors=True)


class ClickHouseDataSource(DataSource):
    """``spark.read.format("clickhouse")``: a ClickHouse server read in hash slices by Spark's workers.

    Options: ``url`` (clickhouse-connect DSN) and ``queries`` (a JSON list of SELECTs, one per slice;
    Spark reads one partition per query). Give the schema with ``.schema()``.
    """

    @classmethod
    def name(cls) -> str:
        return "clickhouse"

    def schema(self) -> str:
        raise ValueError("give the clickhouse source its schema: spark.read.format('clickhouse').schema(...)")

    def reader(self, schema: StructType) -> DataSourceReader:
        return ClickHouseReader(dict(self.options), schema)


class ClickHouseReader(DataSourceReader):
    def __init__(self, options: dict[str, str], schema: StructType) -> None:
        self.schema = schema
        self.url = options["url"]
        self.queries: list[str] = json.loads(options["queries"])

    def partitions(self) -> list[InputPartition]:
        return [InputPartition(i) for i in range(len(self.queries))]

    def read(self, partition: InputPartition):
        import clickhouse_connect
        from pyspark.sql.pandas.types import to_arrow_schema

        target = to_arrow_schema(self.schema)  # Spark's types, nullable, whatever ClickHouse sent
        client = clickhouse_connect.get_client(dsn=self.url)
        try:
            with client.query_arrow_stream(self.queries[partition.value]) as stream:
                for batch in stream:
                    yield batch.cast(target)
        finally:
            client.close()


def register(spark: SparkSession) -> None:
    """Make ``spark.read.format("clickhouse")`` available in this session."""
    spark.dataSource.register(ClickHouseDataSource)

