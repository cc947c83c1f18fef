"""The forecaster as an MLflow pyfunc: ``models:/stock-forecaster@champion`` → daily P10/P50/P90.

The model ships with what it needs to predict without the warehouse: the LightGBM booster, the
calibrated spread and the prepared inputs of every series for the forecast window (history at the
origin, the planned calendar, prices and promotions of each day). Asked for some store × SKU
pairs, it runs the booster on their rows; a pair it has never seen comes back as an error that
names it, not as zeros.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models.signature import ModelSignature
from mlflow.types.schema import ColSpec, Schema

from models.forecaster import DemandModel, Spread, daily_forecast

INPUT = Schema([ColSpec("string", "store_id"), ColSpec("string", "sku"),
                ColSpec("long", "horizon_days", required=False)])
OUTPUT = Schema([ColSpec("string", "store_id"), ColSpec("string", "sku"), ColSpec("datetime", "date"),
                 ColSpec("double", "mean"), ColSpec("double", "p10"), ColSpec("double", "p50"),
                 ColSpec("double", "p90")])


class UnknownSeriesError(KeyError):
    """Store × SKU pairs the model has no history for."""


class StockForecaster(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        folder = Path(context.artifacts["forecaster"])
        self.model = DemandModel.load(folder)
        self.spread = Spread.from_json((folder / "spread.json").read_text())
        self.inputs = pd.read_parquet(folder / "inputs.parquet")
        self.index = self.inputs.groupby(["store_id", "sku"], observed=True).indices

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return forecast(self.model, self.spread, self.inputs, self.index, model_input)


def forecast(model: DemandModel, spread: Spread, inputs: pd.DataFrame, index: dict, request: pd.DataFrame
             ) -> pd.DataFrame:
    """Daily forecasts for the requested pairs (``horizon_days`` caps the days; default all)."""
    wanted = request.astype({"store_id": str, "sku": str})
    missing = [f"{s}/{k}" for s, k in zip(wanted["store_id"], wanted["sku"]) if (s, k) not in index]
    if missing:
        raise UnknownSeriesError(f"no history for store/sku {', '.join(missing[:10])}"
                                 + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))
    parts = []
    for row in wanted.itertuples(index=False):
        rows = inputs.iloc[index[(row.store_id, row.sku)]]
        days = getattr(row, "horizon_days", None)
        if days is not None and pd.notna(days):
            rows = rows[rows["horizon"] <= int(days)]
        parts.append(rows)
    out = daily_forecast(model, spread, pd.concat(parts, ignore_index=True))
    return out.drop(columns="var").astype({"mean": float, "p10": float, "p50": float, "p90": float})


def log_forecaster(model: DemandModel, spread: Spread, inputs: pd.DataFrame, folder: Path, name: str,
                   horizon: int) -> str:
    """Log the pyfunc into the active run, register it under ``name``; returns the new version."""
    model.save(folder)
    (folder / "spread.json").write_text(spread.to_json())
    inputs.to_parquet(folder / "inputs.parquet")
    example = inputs[["store_id", "sku"]].drop_duplicates().head(2).assign(horizon_days=min(7, horizon))
    package = Path(__file__).resolve().parent
    info = mlflow.pyfunc.log_model(
        name="model", python_model=StockForecaster(), artifacts={"forecaster": str(folder)},
        signature=ModelSignature(INPUT, OUTPUT), input_example=example,
        code_paths=[str(package), str(package.parent / "features")],
        pip_requirements=["lightgbm", "pandas", "pyarrow", "mlflow"], registered_model_name=name)
    return str(info.registered_model_version)
