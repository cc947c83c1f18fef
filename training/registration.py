"""Logging the three served models into the active MLflow run and registering them.

The pyfunc classes (what a served model *is*) live with the models, in ``models/*_pyfunc.py``;
this module is how training ships them: the artifacts each needs, its signature and example, the
``models`` package as its code (the pickles name it), and the registry name. Each function
returns the new registered version, which the champion gate (training/tracking.py) then judges.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models.signature import ModelSignature

import models
from models import crosssell_pyfunc, forecast_pyfunc, staffing_pyfunc
from models.crosssell import CrossSell
from models.staffing import PlanContext, StaffingPolicy

MODELS_PACKAGE = str(Path(models.__file__).resolve().parent)


def log_forecaster(published: Path, pairs: pd.DataFrame, folder: Path, name: str) -> str:
    """The stock forecaster, pointing at its run's forecasts published per store (``published``,
    see warehouse/forecasts.py): the version stays small whatever the chain's size."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "forecasts.json"
    source.write_text(json.dumps({"folder": str(published.resolve())}))
    example = pairs[["store_id", "sku"]].drop_duplicates().head(2).assign(horizon_days=7)
    return _log(forecast_pyfunc.StockForecaster(), {"forecasts": str(source)},
                ModelSignature(forecast_pyfunc.INPUT, forecast_pyfunc.OUTPUT), example,
                ["pandas", "pyarrow", "mlflow"], name)


def log_staffing(forecast: pd.DataFrame, context: PlanContext, policy: StaffingPolicy, folder: Path, name: str) -> str:
    """The staffing model with its traffic forecast, basket sizes, ticket values, schedule and policy."""
    folder.mkdir(parents=True, exist_ok=True)
    forecast.to_parquet(folder / "forecast.parquet")
    context.ticket_value.to_parquet(folder / "ticket_value.parquet")
    context.on_duty.to_parquet(folder / "on_duty.parquet")
    (folder / "items_per_ticket.json").write_text(json.dumps(context.items_per_ticket))
    (folder / "policy.json").write_text(json.dumps(asdict(policy)))
    example = pd.DataFrame({"store_id": [str(forecast["store_id"].iloc[0])],
                            "week_start": [str(forecast["date"].min().date())], "plan_on": ["p90"]})
    return _log(staffing_pyfunc.StaffingModel(), {"staffing": str(folder)},
                ModelSignature(staffing_pyfunc.INPUT, staffing_pyfunc.OUTPUT), example,
                ["scipy", "pandas", "pyarrow", "mlflow"], name)


def log_crosssell(recommender: CrossSell, histories: pd.DataFrame, folder: Path, name: str) -> str:
    """The cross-sell recommender with its customers' recent SKUs (the fold-in of known customers)."""
    recommender.save(folder)
    histories.to_parquet(folder / "histories.parquet")
    example = pd.DataFrame({"basket": [",".join(recommender.skus[:2])], "store_id": [None], "customer_id": [None],
                            "k": [crosssell_pyfunc.DEFAULT_K]})
    return _log(crosssell_pyfunc.CrossSellModel(), {"recommender": str(folder)},
                ModelSignature(crosssell_pyfunc.INPUT, crosssell_pyfunc.OUTPUT), example,
                ["implicit", "scipy", "pandas", "pyarrow", "mlflow"], name)


def _log(python_model: mlflow.pyfunc.PythonModel, artifacts: dict[str, str], signature: ModelSignature,
         example: pd.DataFrame, requirements: list[str], name: str) -> str:
    info = mlflow.pyfunc.log_model(
        name="model", python_model=python_model, artifacts=artifacts, signature=signature,
        input_example=example, code_paths=[MODELS_PACKAGE], pip_requirements=requirements,
        registered_model_name=name)
    return str(info.registered_model_version)
