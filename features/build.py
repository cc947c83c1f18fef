"""``vitrine features build``: read ClickHouse, compute the feature sets in Spark, write and record them.

Each set is written as Parquet to ``VITRINE_HOME/features/<set>/<run_id>/`` (first under a
``.tmp`` name, renamed when complete), then committed by a row in ``meta.feature_runs``. A build
that dies half-way leaves no visible run. ``as_of`` bounds what is read: only data from before it.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from features import source
from features.baskets import basket_lines, customer_items
from features.calendar import calendar_frame
from features.definitions import DEFAULT_SETS, GRANULARITIES, feature_set
from features.demand import SmallTables, write_parts
from features.source import TableQuery
from features.spark import SHORT_JOBS_ROWS, spark_session
from features.traffic import traffic_features
from warehouse.clickhouse import connect
from warehouse.settings import Settings

# rows of gold.daily_sales per demand task: what one task holds as numpy columns (~1 GiB at 2M rows)
DEMAND_ROWS_PER_TASK = 2_000_000


class FeatureInputError(ValueError):
    """The warehouse holds nothing to build features from; the message says what to do."""


@dataclass(frozen=True)
class FeatureRun:
    run_id: str
    feature_set: str
    as_of: date
    path: Path
    rows: int
    seconds: float


def build(settings: Settings, sets: tuple[str, ...] = DEFAULT_SETS, as_of: date | None = None,
          on_step: Callable[[str], None] = lambda _: None) -> list[FeatureRun]:
    """Build ``sets`` from data before ``as_of`` (default: all data) and record each run."""
    for name in sets:
        feature_set(name)  # unknown names fail before any work
    first_day, last_day, rows = connect(settings).query(
        "SELECT min(date), max(date), count() FROM gold.daily_sales").result_rows[0]
    if not rows:
        raise FeatureInputError("the warehouse has no sales to build features from: ingest data first "
                                "(vitrine ingest <folder>, or vitrine run for generated data)")
    as_of = as_of or last_day + timedelta(days=1)
    if as_of <= first_day:
        raise FeatureInputError(f"no sales before {as_of}: choose a later --as-of (data starts {first_day})")
    spark = spark_session(settings, short_jobs=rows < SHORT_JOBS_ROWS)
    inputs = Inputs(spark, settings, first_day, as_of, max(settings.clickhouse_read_slices,
                                                            math.ceil(rows / DEMAND_ROWS_PER_TASK)))
    runs = []
    try:
        for name in sets:
            on_step(name)
            started = time.perf_counter()
            runs.append(_write_and_record(settings, name, inputs, as_of, started))
    finally:
        source.remove_handoff(inputs.handoff)
    return runs


class Inputs:
    """The ClickHouse reads feature sets share, each done once per build (lazily)."""

    def __init__(self, spark: SparkSession, settings: Settings, first_day: date, as_of: date,
                 demand_slices: int) -> None:
        self.spark, self.settings, self.first_day, self.as_of = spark, settings, first_day, as_of
        self.demand_slices = demand_slices
        self.handoff = settings.handoff_dir / uuid.uuid4().hex[:12]
        self._read: dict[str, DataFrame] = {}
        self._daily_parts: list[str] | None = None
        self._small: dict[str, pd.DataFrame] = {}

    def write(self, name: str, folder: Path) -> None:
        """Compute the feature set ``name`` and write it as Parquet into ``folder``."""
        if not name.startswith("demand_"):
            self.frame(name).write.mode("overwrite").parquet(str(folder))
            return
        g = GRANULARITIES[name.removeprefix("demand_")]
        if self._daily_parts is None:  # demand_day and demand_week read the same slices
            self._daily_parts = source.slice_parts(self.settings, _queries(self.as_of)["daily"], self.demand_slices,
                                                   self.handoff)
        small = SmallTables(*(self.driver_table(key) for key in ("prices", "promotions", "stores", "products")),
                            calendar_frame(self.first_day, self.as_of, g.period_days, self.settings.country))
        url = None if self.settings.is_embedded else self.settings.warehouse_url
        write_parts(self.spark, self._daily_parts, url, small, g, folder)

    def driver_table(self, key: str) -> pd.DataFrame:
        """A small table (catalogue- or store-sized), read once by the driver."""
        if key not in self._small:
            result = connect(self.settings).query(_queries(self.as_of)[key].sql())
            self._small[key] = pd.DataFrame(result.result_rows, columns=result.column_names)
        return self._small[key]

    def table(self, key: str) -> DataFrame:
        if key not in self._read:
            self._read[key] = source.read(self.spark, self.settings, _queries(self.as_of)[key], self.handoff)
        return self._read[key]

    def calendar(self, period_days: int) -> DataFrame:
        frame = calendar_frame(self.first_day, self.as_of, period_days, self.settings.country)
        return self.spark.createDataFrame(frame, "date date, holidays_in_period int, retail_event_in_period int, "
                                          "days_to_next_event int, days_since_last_event int, next_event string")

    def frame(self, name: str) -> DataFrame:
        """A feature set computed by Spark SQL (every set but demand's)."""
        if name == "traffic_hour":
            return traffic_features(self.table("hourly"), self.table("promotions"), self.table("stores"),
                                    self.calendar(1))
        if name == "basket_lines":
            return self.baskets()
        if name == "customer_items":
            return customer_items(self.baskets())
        raise KeyError(name)

    def baskets(self) -> DataFrame:
        if "baskets" not in self._read:
            self._read["baskets"] = basket_lines(self.table("sales")).cache()
        return self._read["baskets"]


def _queries(as_of: date) -> dict[str, TableQuery]:
    """Everything the feature sets read, with the columns they use and the as-of cut."""
    cut = f"'{as_of.isoformat()}'"
    return {
        # Dense series: the months gold leaves out of a series are filled with 0 units, observed = 0.
        "daily": TableQuery("gold.daily_sales",
                            ("store_id", "sku", "date", "units", "toFloat64(revenue) AS revenue", "on_hand",
                             "toUInt8(1) AS observed"),
                            f"date < {cut}", slice_by="store_id, sku", order_by="store_id, sku, date WITH FILL"),
        "hourly": TableQuery("gold.hourly_traffic",
                             ("store_id", "date", "toInt32(hour) AS hour", "toInt64(tickets) AS tickets", "items"),
                             f"date < {cut}", slice_by="store_id"),
        "sales": TableQuery("silver.sales",
                            ("ticket_id", "store_id", "customer_id", "sku", "quantity", "toDate(sold_at) AS sold_on"),
                            f"sold_at < {cut}", slice_by="ticket_id"),
        "prices": TableQuery("silver.prices", ("sku", "toFloat64(price) AS price", "valid_from", "valid_to"),
                             f"valid_from < {cut}", slice_by="sku"),
        "promotions": TableQuery("silver.promotions",
                                 ("sku", "store_id", "starts_on", "ends_on", "discount_pct"),
                                 f"starts_on < {cut}", slice_by="sku"),
        "stores": TableQuery("silver.stores", ("store_id", "region", "state", "opened_on")),
        "products": TableQuery("silver.products", ("sku", "category", "subcategory", "brand", "launched_on")),
    }


def _write_and_record(settings: Settings, name: str, inputs: Inputs, as_of: date, started: float) -> FeatureRun:
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    final = settings.features_dir / name / run_id
    partial = final.with_name(run_id + ".tmp")
    inputs.write(name, partial)
    partial.rename(final)
    rows = inputs.spark.read.parquet(str(final)).count()
    seconds = time.perf_counter() - started
    connect(settings).insert(
        "meta.feature_runs",
        [[run_id, name, as_of, str(final), rows, feature_set(name).columns, seconds, settings.spark_master]],
        column_names=["run_id", "feature_set", "as_of", "path", "rows", "columns", "seconds", "spark_master"],
    )
    return FeatureRun(run_id, name, as_of, final, rows, seconds)


def latest_run(settings: Settings, name: str) -> FeatureRun | None:
    """The newest committed run of a feature set, or None when it was never built."""
    rows = connect(settings).query(
        "SELECT run_id, as_of, path, rows, seconds FROM meta.feature_runs WHERE feature_set = {name:String} "
        "ORDER BY created_at DESC LIMIT 1", parameters={"name": name}).result_rows
    if not rows:
        return None
    run_id, as_of, path, rows_, seconds = rows[0]
    return FeatureRun(run_id, name, as_of, Path(path), rows_, seconds)


def main(argv: list[str] | None = None) -> None:
    """``spark-submit --master URL features/build.py [--sets a,b] [--as-of YYYY-MM-DD]``: the build
    under a cluster's own submit, with settings from the environment (as every vitrine process)."""
    import argparse

    from warehouse.settings import load_settings

    parser = argparse.ArgumentParser(prog="features/build.py", description=main.__doc__)
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS), help="comma-separated feature sets")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="use only data before this day")
    args = parser.parse_args(argv)
    for run in build(load_settings(), tuple(s.strip() for s in args.sets.split(",") if s.strip()), args.as_of):
        print(f"{run.feature_set}: {run.rows:,} rows in {run.seconds:.1f} s -> {run.path}")


if __name__ == "__main__":
    main()
