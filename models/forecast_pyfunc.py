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
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.types.schema import ColSpec, Schema

INPUT = Schema([ColSpec("string", "store_id"), ColSpec("string", "sku"),
                ColSpec("long", "horizon_days", required=False)])
OUTPUT = Schema([ColSpec("string", "store_id"), ColSpec("string", "sku"), ColSpec("datetime", "date"),
                 ColSpec("double", "mean"), ColSpec("double", "p10"), ColSpec("double", "p50"),
                 ColSpec("double", "p90")])
COLUMNS = ["store_id", "sku", "date", "mean", "p10", "p50", "p90"]
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
        self._stores: OrderedDict[tuple[str, str], object] = OrderedDict()  # (kind, store) → its table
        self._lock = threading.Lock()

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        wanted = model_input.astype({"store_id": str, "sku": str})
        parts = [forecast(*self.store(store), rows) for store, rows in wanted.groupby("store_id", sort=False)]
        return pd.concat(parts, ignore_index=True)

    def store(self, store_id: str) -> tuple[pd.DataFrame, dict]:
        """One store's forecast table and its (store_id, sku) → rows index."""
        def load(table: pd.DataFrame | None) -> tuple[pd.DataFrame, dict]:
            table = pd.DataFrame(columns=COLUMNS) if table is None else table.astype({"store_id": str, "sku": str})
            return table, table.groupby(["store_id", "sku"], sort=False).indices

        return self._cached("forecast", store_id, load)

    def alerts(self, store_id: str) -> pd.DataFrame:
        """The store's ranked stock alerts (riskiest first); empty when none. Read for every posted
        sale (the live stock-risk alert), so kept like the forecasts."""
        return self._cached("alerts", store_id, lambda found: found if found is not None else pd.DataFrame(
            columns=["store_id", "sku", "stockout_probability"]))

    def _cached(self, kind: str, store_id: str, load):
        """``load`` of the store's ``kind`` file, the last STORES_IN_MEMORY stores' kept in memory."""
        from warehouse.forecasts import read_store

        key = (kind, store_id)
        with self._lock:
            if key in self._stores:
                self._stores.move_to_end(key)
                return self._stores[key]
        loaded = load(read_store(self.folder, kind, store_id))
        with self._lock:
            self._stores[key] = loaded
            while len(self._stores) > 2 * STORES_IN_MEMORY:
                self._stores.popitem(last=False)
        return loaded


def forecast(table: pd.DataFrame, index: dict, request: pd.DataFrame) -> pd.DataFrame:
    """Daily forecasts for the requested pairs (``horizon_days`` caps the days; default all)."""
    missing = [f"{s}/{k}" for s, k in zip(request["store_id"], request["sku"]) if (s, k) not in index]
    if missing:
        raise UnknownSeriesError(f"no history for store/sku {', '.join(missing[:10])}"
                                 + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))
    parts = []
    for row in request.itertuples(index=False):
        rows = index[(row.store_id, row.sku)]
        days = getattr(row, "horizon_days", None)
        if days is not None and pd.notna(days):
            rows = rows[: int(days)]
        parts.append(table.iloc[rows])
    return pd.concat(parts, ignore_index=True).astype({"mean": float, "p10": float, "p50": float, "p90": float})
