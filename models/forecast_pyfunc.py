"""The forecaster as an MLflow pyfunc: ``models:/stock-forecaster@champion`` → daily P10/P50/P90.

The pool's forecasts are made once, when the model is trained (every store × SKU, every day of
the horizon, with the plan of each day); the model ships them as a table and answers from it.
Asked for some store × SKU pairs, it returns their rows; a pair it has never seen comes back as an
error that names it, not as zeros.
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.types.schema import ColSpec, Schema

INPUT = Schema([ColSpec("string", "store_id"), ColSpec("string", "sku"),
                ColSpec("long", "horizon_days", required=False)])
OUTPUT = Schema([ColSpec("string", "store_id"), ColSpec("string", "sku"), ColSpec("datetime", "date"),
                 ColSpec("double", "mean"), ColSpec("double", "p10"), ColSpec("double", "p50"),
                 ColSpec("double", "p90")])
COLUMNS = ["store_id", "sku", "date", "mean", "p10", "p50", "p90"]


class UnknownSeriesError(KeyError):
    """Store × SKU pairs the model has no history for."""


class StockForecaster(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        if "forecast" not in context.artifacts:
            raise RuntimeError("this stock-forecaster version predates the forecasting pool: "
                               "retrain it with `vitrine train forecast`")
        self.table = pd.read_parquet(context.artifacts["forecast"], columns=COLUMNS).sort_values(
            ["store_id", "sku", "date"], ignore_index=True)
        self.index = self.table.groupby(["store_id", "sku"], sort=False).indices

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return forecast(self.table, self.index, model_input)


def forecast(table: pd.DataFrame, index: dict, request: pd.DataFrame) -> pd.DataFrame:
    """Daily forecasts for the requested pairs (``horizon_days`` caps the days; default all)."""
    wanted = request.astype({"store_id": str, "sku": str})
    missing = [f"{s}/{k}" for s, k in zip(wanted["store_id"], wanted["sku"]) if (s, k) not in index]
    if missing:
        raise UnknownSeriesError(f"no history for store/sku {', '.join(missing[:10])}"
                                 + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))
    parts = []
    for row in wanted.itertuples(index=False):
        rows = index[(row.store_id, row.sku)]
        days = getattr(row, "horizon_days", None)
        if days is not None and pd.notna(days):
            rows = rows[: int(days)]
        parts.append(table.iloc[rows])
    return pd.concat(parts, ignore_index=True).astype({"mean": float, "p10": float, "p50": float, "p90": float})
