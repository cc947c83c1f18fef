"""Each forecaster run's forecasts as data: rows in the warehouse, and one Parquet file per store.

At chain scale the forecasts (store × SKU × day) are tens of millions of rows. Inside the MLflow
model they made every service replica load the whole chain to answer one store, and the registry
kept a copy per version. So a run writes them out as data instead:

* ``gold.demand_forecasts``: every run's rows, for SQL (a forecast scored against what sold later);
* ``VITRINE_HOME/serving/forecasts/<run_id>/``: ``forecast/<store>.parquet`` and
  ``alerts/<store>.parquet``, written aside and swapped in whole, as the live figures are
  (warehouse/figures.py). The service opens one store's file when that store is asked about.

The registered model points at its run's folder (models/forecast_pyfunc.py), so the champion and
the forecasts it serves cannot drift apart.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from clickhouse_connect.driver.client import Client

from warehouse.local_files import make_private, replace_folder, store_file
from warehouse.settings import Settings

TABLE = "gold.demand_forecasts"
COLUMNS = ["store_id", "sku", "date", "mean", "p10", "p50", "p90"]
KEEP_RUNS = 3  # the newest runs' folders kept besides the champion's: a service still on the last
# champion keeps answering until it picks up the new one


def forecasts_dir(settings: Settings) -> Path:
    return settings.serving_dir / "forecasts"


def publish(settings: Settings, run_id: str, forecast: pd.DataFrame, alerts: pd.DataFrame) -> Path:
    """Write ``forecast`` (``COLUMNS``) and ``alerts`` per store under the run's folder; returns it."""
    staging = start(settings, run_id)
    try:
        risky = dict(tuple(alerts.groupby(alerts["store_id"].astype(str), sort=False)))
        for store, rows in forecast.groupby(forecast["store_id"].astype(str), sort=False):
            write_store(staging, store, rows, risky.get(store, alerts.iloc[:0]))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return commit(settings, run_id, staging)


def start(settings: Settings, run_id: str) -> Path:
    """A fresh staging folder for the run's files, beside the published ones (same file system,
    and one every Spark executor sees when the home is shared storage)."""
    root = forecasts_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{run_id}-", dir=root))
    for kind in ("forecast", "alerts"):
        (staging / kind).mkdir()
    return staging


def write_store(staging: Path, store_id: str, forecast: pd.DataFrame, alerts: pd.DataFrame) -> None:
    """One store's files: its forecast rows by SKU then date (each SKU's days one run of rows, which
    the service slices), and its alerts riskiest first."""
    forecast[COLUMNS].sort_values(["sku", "date"]).to_parquet(store_file(staging, "forecast", store_id), index=False)
    alerts.sort_values("stockout_probability", ascending=False).to_parquet(
        store_file(staging, "alerts", store_id), index=False)


def commit(settings: Settings, run_id: str, staging: Path) -> Path:
    """Swap the fully written ``staging`` folder in as the run's published forecasts."""
    try:
        stores = list((staging / "forecast").glob("*.parquet"))
        meta = {"run_id": run_id, "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "stores": len(stores)}
        (staging / "meta.json").write_text(json.dumps(meta))
        make_private(staging)
        replace_folder(staging, forecasts_dir(settings) / run_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return forecasts_dir(settings) / run_id


def read_store(folder: Path, kind: str, store_id: str) -> pd.DataFrame | None:
    """One store's ``kind`` rows from a run's folder; None when the run has none for that store."""
    table = read_store_table(folder, kind, store_id)
    return None if table is None else table.to_pandas()


def read_store_table(folder: Path, kind: str, store_id: str) -> pa.Table | None:
    """``read_store`` as Arrow: the service slices its columns as arrays, since a DataFrame of a
    store's 84,000 rows (3,000 SKUs × 28 days) cost more to build than the answer."""
    path = store_file(folder, kind, store_id)
    if not path.exists():
        if not folder.exists():
            raise FileNotFoundError(f"the forecasts of this model are gone from {folder}: retrain it "
                                    "with `vitrine train forecast`")
        return None
    return pq.read_table(path)


def prune(settings: Settings, keep: set[str]) -> None:
    """Remove run folders other than ``keep`` and the newest ``KEEP_RUNS``."""
    root = forecasts_dir(settings)
    if not root.exists():
        return
    runs = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[KEEP_RUNS:]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def insert(client: Client, run_id: str, folder: Path) -> int:
    """Append the run's published rows to ``gold.demand_forecasts``, a store at a time (memory
    stays one store's whatever the chain's size); returns the rows inserted."""
    inserted = 0
    for path in sorted((folder / "forecast").glob("*.parquet")):
        rows = pd.read_parquet(path).astype({"store_id": str, "sku": str})
        rows = rows.assign(run_id=run_id, date=pd.to_datetime(rows["date"]).dt.date)
        client.insert_df(TABLE, rows[["run_id", *COLUMNS]])
        inserted += len(rows)
    return inserted
