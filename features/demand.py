"""Demand features per store × SKU × period (day or week): the stock forecaster's training table.

One code path for both granularities: days are rolled up into periods first, then every history
feature is an offset over the dense series. ClickHouse hands the series over in slices, each
holding whole series sorted by day (see build.py), so every Spark task computes its slice alone:
no shuffle, no sort, and "k periods back" is "k rows back" (a running total's offset gives any
trailing window in O(rows)). The task works on Arrow columns with numpy and writes its own Parquet
part. Why not Spark SQL windows: at large (103M rows × 46 columns, 2 cores) Spark's row format
took 332 s for the same table, half of it in its Parquet writer (whatever the codec), and
integer keys through its window saved 3.5 s of it; these tasks take 140-156 s.

Prices, promotions, stores, products and the calendar are small (catalogue- or store-sized): read
once by the driver and shipped to every task.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from features.calendar import EPOCH
from features.definitions import Granularity, demand
from features.source import read_slice

# the table's types, as Spark wrote them before (consumers and earlier runs agree on them)
INT32 = {"stockout_days", "day_of_week", "day_of_month", "week_of_year", "month", "holidays_in_period",
         "retail_event_in_period", "days_to_next_event", "days_since_last_event", "on_hand_start",
         "out_of_stock_at_start", "store_age_days", "days_since_launch"}
STRINGS = {"store_id", "sku", "next_event", "store_region", "store_state", "category", "subcategory", "brand"}
INT64 = {"units", "series_age"}
EPOCH_DAY = (np.datetime64(EPOCH, "D") - np.datetime64("1970-01-01", "D")).astype(int)
FAR_FUTURE_DAY = 2_932_896  # 9999-12-31: a price with no end


@dataclass(frozen=True)
class SmallTables:
    """What every task joins, as the driver read it: ``prices`` (sku, price, valid_from,
    valid_to), ``promotions`` (sku, store_id: None = chain-wide, starts_on, ends_on,
    discount_pct), ``stores`` (store_id, region, state, opened_on), ``products`` (sku, category,
    subcategory, brand, launched_on) and ``calendar`` (features.calendar.calendar_frame rows)."""

    prices: pd.DataFrame
    promotions: pd.DataFrame
    stores: pd.DataFrame
    products: pd.DataFrame
    calendar: pd.DataFrame


def output_schema(g: Granularity) -> pa.Schema:
    """The Arrow schema of ``demand_<g>``: every column nullable."""
    def kind(name: str) -> pa.DataType:
        if name == "date":
            return pa.date32()
        if name in STRINGS:
            return pa.string()
        if name == "stockout_days" and g.period_days > 1:
            return pa.int64()  # a sum of days
        if name in INT32:
            return pa.int32()
        if name in INT64 or name.startswith("units_lag_"):
            return pa.int64()
        return pa.float64()
    return pa.schema([pa.field(name, kind(name)) for name in demand(g).columns])


def slice_features(daily: pa.Table, small: SmallTables, g: Granularity) -> pa.Table:
    """The ``demand_<g>`` rows of one slice of gold.daily_sales: store_id, sku, date, units, revenue,
    on_hand, observed, whole series sorted by day, dense (a day gold lacks: 0 units, observed 0)."""
    store_names, store_of = codes(daily["store_id"])
    sku_names, sku_of = codes(daily["sku"])
    day = _days(daily["date"])
    on_hand = _floats(daily["on_hand"])
    depth = promo_depth(small.promotions, store_names, sku_names, store_of, sku_of, day)
    days = {"units": _floats(daily["units"]), "revenue": _floats(daily["revenue"]),
            "observed": _floats(daily["observed"]),
            "regular_price": regular_price(small.prices, sku_names, sku_of, day),
            "stockout_days": np.where(np.isnan(on_hand), np.nan, (on_hand == 0).astype(float)),
            "on_hand_end": on_hand, "promo_depth_pct": depth, "promo_days_share": (depth > 0).astype(float),
            "day": day}
    series_start = np.r_[True, (store_of[1:] != store_of[:-1]) | (sku_of[1:] != sku_of[:-1])]
    if g.period_days == 1:
        periods = days
    else:  # a series' days of one period are adjacent rows
        first = np.flatnonzero(series_start | np.r_[True, np.diff((day - EPOCH_DAY) // g.period_days) != 0])
        periods = _roll_up(days, first, g.period_days)
        series_start, store_of, sku_of = series_start[first], store_of[first], sku_of[first]
    out = _history(periods, Series(np.flatnonzero(series_start), len(periods["day"])), g)

    keep = periods["observed"] == 1  # rows gold has; filled gaps only served as history
    out = {name: values[keep] for name, values in out.items()}
    day, store_of, sku_of = periods["day"][keep], store_of[keep], sku_of[keep]
    columns: dict[str, pa.Array] = {"store_id": pc.take(store_names, pa.array(store_of)),
                                    "sku": pc.take(sku_names, pa.array(sku_of)),
                                    "date": pa.array(day.astype("datetime64[D]"), pa.date32())}
    columns.update(_calendar(small.calendar, day))
    columns.update(_attributes(small.stores, "store_id", {"region": "store_region", "state": "store_state"},
                               store_names, store_of))
    columns.update(_attributes(small.products, "sku", {"category": "category", "subcategory": "subcategory",
                                                       "brand": "brand"}, sku_names, sku_of))
    columns["category"] = pc.fill_null(columns["category"], "(sem categoria)")  # still a level per store
    opened = _attribute_days(small.stores, "store_id", "opened_on", store_names)[store_of]
    launched = _attribute_days(small.products, "sku", "launched_on", sku_names)[sku_of]
    dates = pd.DatetimeIndex(day.astype("datetime64[D]"))
    out.update({
        "day_of_week": (day + 3) % 7,  # Monday 0 (1970-01-01 was a Thursday)
        "day_of_month": dates.day.to_numpy(), "week_of_year": dates.isocalendar().week.to_numpy(),
        "month": dates.month.to_numpy(),
        "price": out["regular_price"] * (1 - out["promo_depth_pct"] / 100),
        "price_vs_regular": 1 - out["promo_depth_pct"] / 100,
        "out_of_stock_at_start": np.where(np.isnan(out["on_hand_start"]), np.nan, out["on_hand_start"] == 0),
        "store_age_days": day - opened, "days_since_launch": day - launched,
    })
    schema = output_schema(g)
    for field in schema:
        if field.name not in columns:  # numbers, NaN for null
            columns[field.name] = pa.array(np.asarray(out[field.name], dtype=float), from_pandas=True)
    return pa.table([columns[f.name].cast(f.type) for f in schema], schema=schema)


class Series:
    """Offsets within whole series laid end to end (``starts``: each series' first row), each
    sorted by period and dense, so "k periods back" is "k rows back"."""

    def __init__(self, starts: np.ndarray, rows: int) -> None:
        self.rows = rows
        self.first_row = np.repeat(starts, np.diff(np.r_[starts, rows]))
        self.age = np.arange(rows) - self.first_row  # periods since the series began

    def lag(self, values: np.ndarray, k: int) -> np.ndarray:
        """The value ``k`` periods back; NaN before the series began."""
        out = np.full(self.rows, np.nan)
        if k < self.rows:
            out[k:] = values[:self.rows - k]
        out[self.age < k] = np.nan
        return out

    def running(self, values: np.ndarray) -> np.ndarray:
        """Running total from the series' first period up to and including the row."""
        total = np.cumsum(values, dtype=float)
        return total - np.r_[0.0, total][self.first_row]

    def mean_last(self, total: np.ndarray, w: int) -> np.ndarray:
        """Mean over the last ``w`` periods before the row (``total``: a running total), over the
        periods the series existed; NaN on its first period."""
        seen = np.minimum(w, self.age)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(seen > 0, (self.lag(total, 1) - np.nan_to_num(self.lag(total, w + 1))) / seen, np.nan)


def _roll_up(days: dict[str, np.ndarray], first: np.ndarray, period_days: int) -> dict[str, np.ndarray]:
    """Days into periods (``first``: each period's first row): units and revenue summed, stock-out
    days counted, list price at the start, stock at the end, promotion depth and share averaged."""
    last = np.r_[first[1:], len(days["day"])] - 1
    count = np.diff(np.r_[first, len(days["day"])])
    return {"units": np.add.reduceat(days["units"], first), "revenue": np.add.reduceat(days["revenue"], first),
            "observed": np.maximum.reduceat(days["observed"], first),
            "regular_price": days["regular_price"][first],
            "stockout_days": _nansum_runs(days["stockout_days"], first), "on_hand_end": days["on_hand_end"][last],
            "promo_depth_pct": np.add.reduceat(days["promo_depth_pct"], first) / count,
            "promo_days_share": np.add.reduceat(days["promo_days_share"], first) / count,
            "day": EPOCH_DAY + (days["day"][first] - EPOCH_DAY) // period_days * period_days}


def _history(p: dict[str, np.ndarray], series: Series, g: Granularity) -> dict[str, np.ndarray]:
    """The targets and the history features of every period (definitions.demand)."""
    units = p["units"]
    out = {"units": units, "revenue": p["revenue"], "stockout_days": p["stockout_days"],
           "regular_price": p["regular_price"], "promo_depth_pct": p["promo_depth_pct"],
           "promo_days_share": p["promo_days_share"], "series_age": series.age}
    for k in g.lags:
        out[f"units_lag_{k}"] = series.lag(units, k)
    out["units_lag_year"] = series.lag(units, g.year_lag)
    run_units, run_squares = series.running(units), series.running(units * units)
    run_unsold = series.running(units <= 0)
    for w in g.windows:
        mean = series.mean_last(run_units, w)
        out[f"units_mean_{w}"] = mean
        out[f"units_std_{w}"] = np.sqrt(np.maximum(series.mean_last(run_squares, w) - mean * mean, 0.0))
        out[f"units_zero_share_{w}"] = series.mean_last(run_unsold, w)
    stocked_out = series.running(np.nan_to_num(p["stockout_days"]) > 0)
    out[f"stockout_share_{g.stock_window}"] = series.mean_last(stocked_out, g.stock_window)
    out["on_hand_start"] = series.lag(p["on_hand_end"], 1)
    before = series.lag(p["regular_price"], g.lags[-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        out["regular_price_change_pct"] = np.where(before != 0, 100 * (p["regular_price"] / before - 1), np.nan)
    return out


def codes(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, np.ndarray]:
    """A text column as (its distinct values, each row's position among them)."""
    encoded = pa.chunked_array([column]) if isinstance(column, pa.Array) else column
    encoded = encoded.cast(pa.string()).combine_chunks().dictionary_encode()
    return encoded.dictionary, encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _days(column: pa.ChunkedArray) -> np.ndarray:
    return column.cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64, null as NaN."""
    return column.cast(pa.float64()).to_numpy(zero_copy_only=False)


def _day_numbers(values: pd.Series) -> np.ndarray:
    """Dates (None allowed) as days since 1970-01-01, NaN for none."""
    as_days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
    out = as_days.astype(np.int64).astype(float)
    out[np.isnat(as_days)] = np.nan
    return out


def _lookup(table_keys: np.ndarray, row_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row key, its position in the sorted ``table_keys`` and whether it is there."""
    at = np.searchsorted(table_keys, row_keys).clip(max=max(len(table_keys) - 1, 0))
    found = (table_keys[at] == row_keys) if len(table_keys) else np.zeros(len(row_keys), bool)
    return at, found


def regular_price(prices: pd.DataFrame, sku_names: pa.Array, sku_of: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Each row's list price: the price valid that day, a price's validity ending where the SKU's
    next price starts; NaN when none is."""
    code = pd.Index(sku_names.to_pylist()).get_indexer(prices["sku"])
    rows = prices.assign(code=code, start=_day_numbers(prices["valid_from"]),
                         end=_day_numbers(prices["valid_to"])).query("code >= 0").sort_values(["code", "start"])
    if rows.empty:
        return np.full(len(day), np.nan)
    start, code = rows["start"].to_numpy(np.int64), rows["code"].to_numpy(np.int64)
    next_same = np.r_[code[1:] == code[:-1], False]
    end = np.fmin(rows["end"].fillna(FAR_FUTURE_DAY).to_numpy(), np.where(next_same, np.r_[start[1:], 0] - 1, np.inf))
    at = np.searchsorted(code * 2**32 + start, sku_of * 2**32 + day, side="right") - 1
    found = (at >= 0) & (code[at.clip(0)] == sku_of) & (day <= end[at.clip(0)])
    return np.where(found, rows["price"].to_numpy(float)[at.clip(0)], np.nan)


def promo_depth(promotions: pd.DataFrame, store_names: pa.Array, sku_names: pa.Array, store_of: np.ndarray,
                 sku_of: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Each row's deepest promotion discount (at the store or chain-wide), 0 when none runs."""
    depth = np.zeros(len(day))
    sku_code = pd.Index(sku_names.to_pylist()).get_indexer(promotions["sku"])
    store_code = pd.Index(store_names.to_pylist()).get_indexer(promotions["store_id"])
    chain_wide = (promotions["store_id"].fillna("").astype(str) == "").to_numpy()  # no store: chain-wide
    useful = (sku_code >= 0) & (chain_wide | (store_code >= 0))
    if not useful.any():
        return depth
    rows = promotions[useful].assign(sku_code=sku_code[useful], store_code=np.where(chain_wide[useful], -1,
                                                                                   store_code[useful]),
                                     first=_day_numbers(promotions["starts_on"][useful]).astype(np.int64),
                                     last=_day_numbers(promotions["ends_on"][useful]).astype(np.int64))
    rows = rows[rows["last"] >= rows["first"]]
    length = (rows["last"] - rows["first"] + 1).to_numpy()
    days = np.repeat(rows["first"].to_numpy(), length) + np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    stores, skus = np.repeat(rows["store_code"].to_numpy(), length), np.repeat(rows["sku_code"].to_numpy(), length)
    pct = np.repeat(rows["discount_pct"].to_numpy(float), length)
    span = int(max(days.max(), day.max()) - min(days.min(), day.min()) + 1)
    base = min(days.min(), day.min())
    for at_store in (True, False):
        mine = (stores >= 0) if at_store else (stores < 0)
        if not mine.any():
            continue
        key = ((stores[mine] + 1 if at_store else 0) * len(sku_names) + skus[mine]) * span + days[mine] - base
        deepest = pd.Series(pct[mine]).groupby(key).max()
        row_key = ((store_of + 1 if at_store else 0) * len(sku_names) + sku_of) * span + day - base
        at, found = _lookup(deepest.index.to_numpy(), row_key)
        depth = np.where(found, np.maximum(depth, deepest.to_numpy()[at]), depth)
    return depth


def _calendar(calendar: pd.DataFrame, day: np.ndarray) -> dict[str, pa.Array]:
    """The calendar features of each row's period (calendar rows are keyed by the period's first day)."""
    at, found = _lookup(_day_numbers(calendar["date"]).astype(np.int64), day)
    out = {}
    for name in ("holidays_in_period", "retail_event_in_period", "days_to_next_event", "days_since_last_event",
                 "next_event"):
        values = pa.array(calendar[name].tolist(), pa.string() if name == "next_event" else pa.int32())
        out[name] = pc.if_else(pa.array(found), pc.take(values, pa.array(at)), pa.nulls(len(day), values.type))
    return out


def _attributes(table: pd.DataFrame, key: str, names: dict[str, str], keys: pa.Array, key_of: np.ndarray
                ) -> dict[str, pa.Array]:
    """Text attributes of each row's store or SKU (null where the table does not list it)."""
    at = pd.Index(table[key]).get_indexer(keys.to_pylist())
    rows = pa.array(np.where(at < 0, len(table), at)[key_of])  # len(table): the null after the last
    return {name: pc.take(pa.array([*(None if pd.isna(v) else str(v) for v in table[column]), None], pa.string()),
                          rows)
            for column, name in names.items()}


def _attribute_days(table: pd.DataFrame, key: str, column: str, keys: pa.Array) -> np.ndarray:
    """A date attribute per distinct key, as day numbers (NaN where unknown)."""
    at = pd.Index(table[key]).get_indexer(keys.to_pylist())
    days = np.r_[_day_numbers(table[column]), np.nan]
    return days[at]  # at = -1 reads the trailing NaN


def _nansum_runs(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Sum of each run starting at ``first``, nulls skipped; NaN when the whole run is null."""
    known = np.add.reduceat((~np.isnan(values)).astype(float), first)
    return np.where(known > 0, np.add.reduceat(np.nan_to_num(values), first), np.nan)


def write_parts(spark: SparkSession, parts: list[str], url: str | None, small: SmallTables, g: Granularity,
                folder: Path) -> None:
    """One Spark task per slice (``parts``: see features.source.slice_parts): read it, compute its
    rows, write them as ``folder``/part-NNNNN.parquet."""
    folder.mkdir(parents=True)

    def task(numbered: tuple[int, str]) -> int:
        number, part = numbered
        table = slice_features(read_slice(part, url), small, g)
        pq.write_table(table, str(folder / f"part-{number:05d}.parquet"), compression="snappy")
        return table.num_rows

    spark.sparkContext.parallelize(list(enumerate(parts)), len(parts)).map(task).sum()
