"""The forecaster as an MLflow pyfunc: ``models:/stock-forecaster@champion`` → daily P10/P50/P90.

The pool's forecasts are made once, when the model is trained (every store × SKU, every day of
the horizon, with the plan of each day), and published as data, one Parquet file per store
(warehouse/forecasts.py). The model holds only where its run's forecasts are, so a registered
version stays a few kilobytes at any chain size, and answering about one store opens that store's
file alone (the last few stores asked about stay in memory). Asked for some store × SKU pairs, it
returns their rows; a pair it has never seen comes back as an error that names it, not as zeros.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from mlflow.types.schema import ColSpec, Schema

INPUT = Schema([ColSpec("string", "store_id"), ColSpec("string", "sku"),
                ColSpec("long", "horizon_days", required=False)])
OUTPUT = Schema([ColSpec("string", "store_id"), ColSpec("string", "sku"), ColSpec("datetime", "date"),
                 ColSpec("double", "mean"), ColSpec("double", "p10"), ColSpec("double", "p50"),
                 ColSpec("double", "p90")])
COLUMNS = ["store_id", "sku", "date", "mean", "p10", "p50", "p90"]
VALUES = ["mean", "p10", "p50", "p90"]
ARRAYS = pa.schema([("sku", pa.string()), ("date", pa.timestamp("ns")), *((name, pa.float64()) for name in VALUES)])
STORES_IN_MEMORY = 16


class UnknownSeriesError(KeyError):
    """Store × SKU pairs the model has no history for."""


class StockForecaster(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        if "forecasts" not in context.artifacts:
            raise RuntimeError("this stock-forecaster version keeps its forecasts inside the model, as before "
                               "chain scale: retrain it with `vitrine train forecast`")
        self._open(Path(json.loads(Path(context.artifacts["forecasts"]).read_text())["folder"]))

    @classmethod
    def reading(cls, folder: Path) -> StockForecaster:
        """The forecaster over a published run's folder, as the registry's model loads it."""
        forecaster = cls()
        forecaster._open(folder)
        return forecaster

    def _open(self, folder: Path) -> None:
        self.folder = folder
        self._stores: OrderedDict[tuple[str, str], object] = OrderedDict()  # (kind, store) → its forecasts or alerts
        self._lock = threading.Lock()

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        wanted = model_input.astype({"store_id": str, "sku": str})
        parts = [self.store(store).rows(rows["sku"], rows.get("horizon_days"))
                 for store, rows in wanted.groupby("store_id", sort=False)]
        return pd.concat(parts, ignore_index=True)

    def store(self, store_id: str) -> StoreForecast:
        """One store's published forecasts, its SKUs' days as runs of arrays."""
        return self._cached("forecast", store_id, lambda table: StoreForecast.of(store_id, table))

    def alerts(self, store_id: str) -> pd.DataFrame:
        """The store's ranked stock alerts (riskiest first); empty when none. Read for every posted
        sale (the live stock-risk alert), so kept like the forecasts."""
        return self._cached("alerts", store_id, lambda found: found.to_pandas() if found is not None else pd.DataFrame(
            columns=["store_id", "sku", "stockout_probability"]))

    def _cached(self, kind: str, store_id: str, load):
        """``load`` of the store's ``kind`` file, the last STORES_IN_MEMORY stores' kept in memory."""
        from warehouse.forecasts import read_store_table

        key = (kind, store_id)
        with self._lock:
            if key in self._stores:
                self._stores.move_to_end(key)
                return self._stores[key]
        loaded = load(read_store_table(self.folder, kind, store_id))
        with self._lock:
            self._stores[key] = loaded
            while len(self._stores) > 2 * STORES_IN_MEMORY:
                self._stores.popitem(last=False)
        return loaded


@dataclass(frozen=True)
class StoreForecast:
    """One store's forecasts as arrays, each SKU's days one run of rows (the file is written by SKU,
    then date). Answering a request slices the arrays: at 3,000 SKUs × 28 days a store, building a
    DataFrame and grouping it cost 30-40 ms a store read, slicing costs under one."""

    store_id: str
    runs: dict[str, tuple[int, int]]  # sku → its rows' [start, end)
    columns: dict[str, np.ndarray]  # date, mean, p10, p50, p90

    @classmethod
    def of(cls, store_id: str, table: pa.Table | None) -> StoreForecast:
        """The arrays of a store's published ``table`` (None: the run has no forecast for it)."""
        table = ARRAYS.empty_table() if table is None else table.select(ARRAYS.names).cast(ARRAYS)
        runs = pc.run_end_encode(table.column("sku").combine_chunks())
        if len(runs.values) != len(pc.unique(runs.values)):  # not written by SKU (a run from before the order)
            table = table.sort_by([("sku", "ascending"), ("date", "ascending")])
            runs = pc.run_end_encode(table.column("sku").combine_chunks())
        ends = runs.run_ends.to_numpy().tolist()
        return cls(store_id, dict(zip(runs.values.to_pylist(), zip([0, *ends[:-1]], ends))),
                   {name: table.column(name).to_numpy() for name in ["date", *VALUES]})

    def __contains__(self, sku: object) -> bool:
        return sku in self.runs

    def rows(self, skus: Iterable[str], horizon_days: Iterable[float | None] | None = None) -> pd.DataFrame:
        """The daily forecasts of ``skus`` (``horizon_days`` caps each one's days; default all);
        a SKU the store has no forecast for is an error that names it."""
        skus = [str(sku) for sku in skus]
        missing = [f"{self.store_id}/{sku}" for sku in skus if sku not in self.runs]
        if missing:
            raise UnknownSeriesError(f"no history for store/sku {', '.join(missing[:10])}"
                                     + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))
        caps = [None] * len(skus) if horizon_days is None else list(horizon_days)
        picked = []
        for sku, cap in zip(skus, caps):
            start, end = self.runs[sku]
            if cap is not None and pd.notna(cap):
                end = min(end, start + int(cap))
            picked.append(np.arange(start, end))
        at = np.concatenate(picked) if picked else np.array([], int)
        return pd.DataFrame({"store_id": self.store_id, "sku": np.repeat(skus, [len(p) for p in picked]),
                             **{name: values[at] for name, values in self.columns.items()}}, columns=COLUMNS)
