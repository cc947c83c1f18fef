"""The demand history as the forecaster reads it: the daily units of the newest ``demand_day``
feature run, tidied (series by series, day by day), and their panel with the plan ahead. One place
for both engines: one process reads it all (training/forecast.py), a Spark executor one store's
(training/chain_forecast.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from models.panel import Panel, demand_panel

UNIT_COLUMNS = ["store_id", "sku", "date", "units", "stockout_days", "price", "promo_depth_pct"]


class ForecastTrainingError(ValueError):
    """The data cannot support a forecast (no feature run, too short a history)."""


def load_units(path: Path) -> pd.DataFrame:
    """Every series' daily units, price, promotion depth and stock-outs (the whole table: the
    statistical members and the year-ago lags want long histories)."""
    import pyarrow.dataset as ds

    units = ds.dataset(str(path), format="parquet").to_table(columns=UNIT_COLUMNS)
    if units.num_rows == 0:
        raise ForecastTrainingError(f"the feature table {path} is empty")
    return tidy_units(units)


def tidy_units(units: pa.Table) -> pd.DataFrame:
    """Units as the forecaster reads them: series by series, day by day, the keys as Arrow-backed
    strings (a Python str per row would take several times the memory of the numbers)."""
    keys = pa.string()
    units = units.cast(units.schema.set(units.schema.get_field_index("store_id"), pa.field("store_id", keys))
                       .set(units.schema.get_field_index("sku"), pa.field("sku", keys)))
    frame = units.sort_by([("store_id", "ascending"), ("sku", "ascending"), ("date", "ascending")]).to_pandas(
        types_mapper={keys: pd.StringDtype("pyarrow")}.get, date_as_object=False)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def units_panel(units: pd.DataFrame, pairs: pd.DataFrame, plan: pd.DataFrame, country: str,
                start: pd.Timestamp | None = None) -> Panel:
    """The panel of ``units`` (``pairs``: its store × SKU pairs as first seen) with ``plan`` (the
    planned prices and promotions ahead) as covariates and out-of-stock days unscored; ``start``:
    the grid's first day when the units are part of a longer panel (one store's, on Spark)."""
    code = units.groupby(["store_id", "sku"], sort=False).ngroup().to_numpy()  # numbered as first seen
    history = pd.DataFrame({"series_id": code, "date": units["date"], "units": units["units"].astype(float),
                            "price": units["price"], "on_promo": units["promo_depth_pct"].fillna(0) / 100})
    plan = plan.merge(pairs.assign(series_id=np.arange(len(pairs))), on=["store_id", "sku"])
    future = pd.DataFrame({"series_id": plan["series_id"], "date": plan["date"], "price": plan["price"],
                           "on_promo": plan["promo_depth_pct"] / 100})
    try:
        panel = demand_panel(history, "D", country, future, start)
    except ValueError as exc:
        raise ForecastTrainingError(str(exc)) from exc
    assert (panel.ids == np.arange(len(pairs))).all(), "the panel numbers series as first seen"
    out_of_stock = units["stockout_days"].fillna(0).to_numpy() > 0
    days = (units.loc[out_of_stock, "date"] - panel.index[0]).dt.days.to_numpy()
    panel.observed[code[out_of_stock], days] = False
    return panel
